"""Permission levels in Django admin: every change has a reason and an audit row; promotion to real passes the gate or is overridden."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client

from apps.accounts import services
from apps.accounts.models import PermissionChange, PermissionLevel
from tests.conftest import make_persona, verify_second_factor

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin_persona) -> Client:
    admin_persona.user.is_staff = admin_persona.user.is_superuser = True
    admin_persona.user.save()
    client = Client()
    client.force_login(admin_persona.user)
    verify_second_factor(client, admin_persona.user)
    return client


def level_of(user) -> str:
    user.refresh_from_db()
    return user.trading_permission.level


def test_promotion_to_real_is_refused_while_the_gate_is_not_evaluated(paper_trader, admin_persona) -> None:
    with pytest.raises(services.PromotionRefused, match="평가되지 않음"):
        services.set_permission_level(user=paper_trader.user, level=PermissionLevel.REAL_TRADER, changed_by=admin_persona.user, reason="good results")
    assert level_of(paper_trader.user) == PermissionLevel.PAPER_TRADER


def test_an_override_promotes_and_is_recorded(paper_trader, admin_persona) -> None:
    services.set_permission_level(
        user=paper_trader.user, level=PermissionLevel.REAL_TRADER, changed_by=admin_persona.user, reason="good results", override_reason="reviewed by hand"
    )
    change = PermissionChange.objects.filter(user=paper_trader.user).first()
    assert (change.old_level, change.new_level, change.changed_by, change.reason) == ("paper_trader", "real_trader", admin_persona.user, "good results")
    assert "평가되지 않음" in change.gate_note and "reviewed by hand" in change.gate_note


def test_a_change_without_a_reason_is_refused(paper_trader, admin_persona) -> None:
    with pytest.raises(ValueError, match="reason"):
        services.set_permission_level(user=paper_trader.user, level=PermissionLevel.VIEWER, changed_by=admin_persona.user, reason=" ")


def test_the_bulk_action_asks_for_a_reason_then_changes_every_selected_user(admin_client, paper_trader, viewer) -> None:
    selected = {"action": "change_levels", ACTION_CHECKBOX_NAME: [paper_trader.user.pk, viewer.user.pk]}
    page = admin_client.post("/admin/accounts/user/", selected)
    assert page.status_code == 200 and b'name="reason"' in page.content
    assert level_of(paper_trader.user) == PermissionLevel.PAPER_TRADER  # nothing changes before the reason is given

    done = admin_client.post("/admin/accounts/user/", {**selected, "apply": "1", "level": "viewer", "reason": "season over"})
    assert done.status_code == 302
    assert level_of(paper_trader.user) == level_of(viewer.user) == PermissionLevel.VIEWER
    assert PermissionChange.objects.filter(reason="season over").count() == 2


def test_a_bulk_promotion_to_real_without_override_changes_nobody(admin_client, paper_trader) -> None:
    other = make_persona("pam_paper", PermissionLevel.PAPER_TRADER)
    selected = {"action": "change_levels", ACTION_CHECKBOX_NAME: [paper_trader.user.pk, other.user.pk], "apply": "1"}
    admin_client.post("/admin/accounts/user/", {**selected, "level": "real_trader", "reason": "promote"})
    assert level_of(paper_trader.user) == level_of(other.user) == PermissionLevel.PAPER_TRADER
    admin_client.post("/admin/accounts/user/", {**selected, "level": "real_trader", "reason": "promote", "override_reason": "audited"})
    assert level_of(paper_trader.user) == level_of(other.user) == PermissionLevel.REAL_TRADER


def test_the_audit_trail_cannot_be_edited_or_deleted_in_admin(admin_client, paper_trader, admin_persona) -> None:
    services.set_permission_level(user=paper_trader.user, level=PermissionLevel.VIEWER, changed_by=admin_persona.user, reason="x")
    change = PermissionChange.objects.first()
    assert admin_client.get("/admin/accounts/permissionchange/").status_code == 200
    assert admin_client.post(f"/admin/accounts/permissionchange/{change.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.get("/admin/accounts/permissionchange/add/").status_code == 403
    assert PermissionChange.objects.filter(pk=change.pk).exists()


def test_the_change_form_needs_an_override_to_promote(admin_client, paper_trader) -> None:
    url = f"/admin/accounts/tradingpermission/{paper_trader.user.trading_permission.pk}/change/"
    refused = admin_client.post(url, {"user": paper_trader.user.pk, "level": "real_trader", "reason": "promote"})
    assert refused.status_code == 200 and "평가되지 않음" in refused.content.decode()
    assert level_of(paper_trader.user) == PermissionLevel.PAPER_TRADER
    admin_client.post(url, {"user": paper_trader.user.pk, "level": "real_trader", "reason": "promote", "override_reason": "checked"})
    assert level_of(paper_trader.user) == PermissionLevel.REAL_TRADER
