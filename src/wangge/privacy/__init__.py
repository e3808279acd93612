"""Privacy by design — 个人信息保护: encrypted, indexed, masked personal values; audited reveals.

Start with ``kinds`` (what is protected and how it is checked, masked and indexed) and
``fields.ProtectedField`` (how a model declares a protected value).
"""
