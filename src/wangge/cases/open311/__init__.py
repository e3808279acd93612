"""Open311 GeoReport v2 at /open311/v2 — for existing civic-tech clients (第三方上报).

- ``formats``: one document, rendered as XML (ElementTree) or JSON (the Spark convention);
- ``services``: what services, service definitions and service requests mean here, and
  who sees which fields;
- ``clients``: the api_key (an ``accounts.ApiToken`` of a machine account) and the demo
  city's client;
- ``views`` / ``urls``: the endpoints.
"""
