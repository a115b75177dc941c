"""Which pages each role sees. Pages are a convenience, never the boundary: every page calls
the services with the user's own key, and the services decide what that key may see."""

from __future__ import annotations

from dataclasses import dataclass

from casetrail.security import Role


@dataclass(frozen=True)
class NavItem:
    """A navigation entry: a page id (also its message id `nav.<id>`) and its path."""

    page: str
    path: str


PAGES = {
    "portfolio": NavItem("portfolio", "/portfolio"),
    "scorecards": NavItem("scorecards", "/scorecards"),
    "cases": NavItem("cases", "/cases"),
    "placements": NavItem("placements", "/placements"),
    "allocation": NavItem("allocation", "/allocation"),
    "invoices": NavItem("invoices", "/invoices"),
    "worklist": NavItem("worklist", "/worklist"),
    "service_levels": NavItem("service_levels", "/service-levels"),
    "qa": NavItem("qa", "/qa"),
    "verification": NavItem("verification", "/verification"),
}

NAVIGATION: dict[Role, tuple[str, ...]] = {
    Role.CREDITOR: ("portfolio", "scorecards", "cases", "placements", "allocation", "invoices"),
    Role.AGENCY: ("worklist", "cases", "service_levels", "qa", "invoices"),
    Role.AUDITOR: ("cases", "verification", "service_levels", "qa", "invoices", "scorecards"),
    Role.ADMIN: ("cases", "verification", "portfolio", "scorecards", "placements", "allocation",
                 "invoices", "worklist", "service_levels", "qa"),
}

HOME: dict[Role, str] = {Role.CREDITOR: "portfolio", Role.AGENCY: "worklist",
                         Role.AUDITOR: "cases", Role.ADMIN: "cases"}


def navigation(role: Role) -> list[NavItem]:
    """The role's navigation, in order."""
    return [PAGES[page] for page in NAVIGATION[role]]


def may_open(role: Role, page: str) -> bool:
    """Whether the role's navigation has the page (others answer 404 in the console)."""
    return page in NAVIGATION[role]


def home(role: Role) -> str:
    """The path a role lands on after signing in."""
    return PAGES[HOME[role]].path
