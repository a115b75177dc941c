"""casetrail console: server-rendered pages for creditors, agencies and auditors, calling the
case, contact and billing services' public APIs with the signed-in user's own key."""
