"""The paper → real readiness gate: whether a user's paper-trading record earns real money.

The metrics (from the end-of-day equity snapshots) are computed by a later piece of work; until
then every user is "not evaluated", which blocks a promotion to real_trader unless an admin
overrides it with a reason that is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from apps.accounts.models import User


@dataclass(frozen=True, slots=True)
class Readiness:
    evaluated: bool
    passed: bool
    summary: str


def paper_to_real(user: User) -> Readiness:
    return Readiness(
        evaluated=False,
        passed=False,
        summary=_("평가되지 않음: %(user)s 님의 모의투자 → 실전 전환 지표가 아직 계산되지 않았습니다.") % {"user": user.get_username()},
    )
