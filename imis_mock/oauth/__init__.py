"""OAuth 2 as iMIS does it: the bearer check here; /token and the SSO hand-off build on it."""
