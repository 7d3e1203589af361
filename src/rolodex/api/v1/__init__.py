"""Version 1 of the HTTP API: one router per object family."""

from fastapi import APIRouter

from rolodex.api.v1 import (
    admin,
    analytics,
    auth,
    companies,
    contacts,
    forms,
    imports,
    records,
    resolve,
    segments,
)

router = APIRouter()
router.include_router(auth.router)
router.include_router(contacts.router)
router.include_router(imports.router)
router.include_router(resolve.router)
router.include_router(forms.router)
router.include_router(companies.router)
router.include_router(records.router)
router.include_router(segments.router)
router.include_router(analytics.router)
router.include_router(admin.router)

__all__ = ["router"]
