"""Real-time registration across screens: ≤100 codes per SetRealReg, ≤200 screens, nothing left registered."""

from __future__ import annotations

import pytest

from kiwoom_worker.ocx.screens import MAX_CODES_PER_CALL, MAX_SCREENS, RealRemove, ScreenManager, ScreensExhausted

CODES = [f"{n:06d}" for n in range(1, 251)]


def test_250_codes_spread_over_screens_and_removed_again() -> None:
    screens = ScreenManager()
    calls = screens.add(CODES)
    assert all(len(call.codes) <= MAX_CODES_PER_CALL for call in calls)
    assert [len(call.codes) for call in calls] == [90, 90, 70]
    assert all(call.opt == "0" for call in calls)  # the first registration on each screen replaces
    assert len({call.screen for call in calls}) == 3 and all(len(call.screen) == 4 and call.screen != "0000" for call in calls)
    assert screens.registered() == set(CODES)

    removed = screens.remove(CODES)
    assert sorted(r.code for r in removed) == CODES
    assert screens.registered() == set() and screens.in_use == 0


def test_adding_fills_a_partly_used_screen_with_opt_add() -> None:
    screens = ScreenManager()
    [first] = screens.add(CODES[:10])
    [second] = screens.add(CODES[10:20] + CODES[:5])  # the already registered five are not sent again
    assert (second.screen, second.opt, len(second.codes)) == (first.screen, "1", 10)


def test_removing_one_code_touches_only_its_screen() -> None:
    screens = ScreenManager(per_screen=2)
    screens.add(CODES[:4])
    where = screens.screen_of(CODES[3])
    assert screens.remove([CODES[3], "999999"]) == [RealRemove(where, CODES[3])]
    assert screens.screen_of(CODES[2]) == where  # its neighbour stays registered


def test_a_reconnect_replays_every_screen() -> None:
    screens = ScreenManager()
    screens.add(CODES)
    replay = screens.replay()
    assert sorted(code for call in replay for code in call.codes) == CODES and all(call.opt == "0" for call in replay)


def test_request_screens_share_the_200_limit() -> None:
    screens = ScreenManager(per_screen=1)
    screens.add(CODES[:150])
    requests = [screens.acquire_request_screen() for _ in range(MAX_SCREENS - 150)]
    with pytest.raises(ScreensExhausted):
        screens.acquire_request_screen()
    with pytest.raises(ScreensExhausted):
        screens.add(["999999"])
    screens.release_request_screen(requests[0])
    assert screens.add(["999999"])[0].screen == requests[0]
