"""A bulletin edited after approval: check, plan and status name the airings it puts at
risk (issue 10, item 3), by the ids ``cancel`` takes."""

from __future__ import annotations

import json

from stationkit import Cli, rows


def test_an_edited_bulletin_names_the_planned_airings_it_puts_at_risk(cli: Cli) -> None:
    cli("plan", "--week", "2026-W48", check=True)
    some = rows(cli.root, "select bulletin_id from airing where status='planned' order by id")
    bid = some[0]["bulletin_id"]
    planned = rows(
        cli.root,
        "select id from airing where bulletin_id=? and status='planned' order by id",
        bid,
    )
    first = f"#{planned[0]['id']} "
    script = cli.root / "scripts" / f"{bid}.md"
    script.write_text(script.read_text("utf-8").replace("\n---\n", "\n---\nBà con chú ý. ", 1))

    check = cli("check")
    line = next(x for x in check.out.splitlines() + check.err.splitlines() if f"{bid}.md" in x)
    assert "changed since its approval" in line
    assert f"{len(planned)} planned airing(s) will fail" in line and first in line

    status = cli("status", "--week", "2026-W48")
    assert "will fail at the gate" in status.out and first in status.out

    again = json.loads(cli("plan", "--week", "2026-W48", "--json").out)
    assert again["at_risk"][bid] == [p["id"] for p in planned]
