from ninja import Router

from .collection.api import router as collection_router

router = Router()
router.add_router("/forms", collection_router)
