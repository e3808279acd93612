from ninja import Router

from .imports.api import router as imports_router
from .linking.api import router as linking_router

router = Router()
router.add_router("/imports", imports_router)
router.add_router("/linkage", linking_router)
