"""Sign in: local accounts, or single sign-on when configured."""

from __future__ import annotations

from dashboard.login_view import sign_in_form

sign_in_form()
