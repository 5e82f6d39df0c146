"""The output plugin contract (issue 13): every output type, built-in or a vendor's, comes
through the ``broadcaster.outputs`` entry points with a settings model that ``check``
validates at its line, an environment check that ``check --online`` runs, and a load
failure that is reported instead of skipped. Through the real executable."""

from __future__ import annotations

import socket
from pathlib import Path

from stationkit import Cli, write_station

from broadcaster.playout.base import output_registry

STATION = "schedules/station.yaml"


def line_of(root: Path, needle: str) -> int:
    lines = (root / STATION).read_text(encoding="utf-8").split("\n")
    [found] = [i for i, line in enumerate(lines, start=1) if needle in line]
    return found


def replace_outputs(root: Path, outputs: str) -> None:
    path = root / STATION
    text = path.read_text(encoding="utf-8")
    head, rest = text.split("outputs:\n", 1)
    rest = rest.split("\nzones:", 1)[1]
    path.write_text(f"{head}outputs:\n{outputs}zones:{rest}", encoding="utf-8")


def test_every_built_in_output_comes_through_the_entry_points_with_its_contract():
    registry = output_registry()
    assert set(registry.types) >= {"file", "player", "icecast", "mqtt"}
    assert registry.failures == {}
    for name, plugin in registry.types.items():
        assert plugin.Settings.model_config.get("extra") == "forbid", name
        assert callable(plugin.check_environment), name


def test_a_mistyped_key_of_any_output_is_an_error_at_its_line(tmp_path: Path):
    root = write_station(tmp_path / "s")
    (root / "secrets").mkdir()
    (root / "secrets" / "icecast.pw").write_text("hackme\n", encoding="utf-8")
    (root / "secrets" / "icecast.pw").chmod(0o600)
    replace_outputs(
        root,
        "  files: {type: file, dir: out}\n"
        "  loa:\n    type: player\n    comand: [ffplay, '{file}']\n"
        "  stream:\n    type: icecast\n    hots: 127.0.0.1\n"
        "    password_file: secrets/icecast.pw\n    mounts: {xa: /xa.mp3}\n",
    )
    result = Cli(root)("check")
    assert result.code == 1, result.err
    assert f"{STATION}:{line_of(root, 'comand:')}: outputs.loa.comand: unknown field" in result.err
    assert f"{STATION}:{line_of(root, 'hots:')}: outputs.stream.hots: unknown field" in result.err
    assert "Traceback" not in result.err


def test_check_online_runs_each_plugins_environment_check(tmp_path: Path):
    root = write_station(tmp_path / "s")
    (root / "secrets").mkdir()
    (root / "secrets" / "icecast.pw").write_text("hackme\n", encoding="utf-8")
    (root / "secrets" / "icecast.pw").chmod(0o600)
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    replace_outputs(
        root,
        "  files: {type: file, dir: out}\n"
        f"  stream:\n    type: icecast\n    port: {port}\n"
        "    password_file: secrets/icecast.pw\n    mounts: {xa: /xa.mp3}\n",
    )
    offline = Cli(root)("check")
    assert offline.code == 0, offline.err
    online = Cli(root)("check", "--online")
    assert online.code == 1
    assert f"outputs.stream: Icecast at 127.0.0.1:{port} is not reachable" in online.err


def test_a_plugin_that_fails_to_load_is_reported_not_skipped(tmp_path: Path):
    """A vendor's plugin, installed (its entry point is there) but broken (its module is
    missing): a station that uses it is told why at its ``type:`` line; any other
    station's ``check`` warns once."""
    site = tmp_path / "site"
    dist = site / "vendor_receiver-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: vendor-receiver\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        "[broadcaster.outputs]\nvendor = vendor_receiver_missing.output:VendorOutput\n",
        encoding="utf-8",
    )
    env = {"PYTHONPATH": str(site)}
    plain = write_station(tmp_path / "plain")
    warned = Cli(plain, env=env)("check")
    assert warned.code == 0, warned.err
    assert "output plugin 'vendor' is installed but could not be loaded" in warned.err
    assert "vendor_receiver_missing" in warned.err

    uses = write_station(tmp_path / "uses")
    replace_outputs(uses, "  files: {type: vendor}\n")
    refused = Cli(uses, env=env)("check")
    assert refused.code == 1
    line = line_of(uses, "type: vendor")
    assert (
        f"{STATION}:{line}: outputs.files.type: output type 'vendor' is installed but could "
        "not be loaded: ModuleNotFoundError" in refused.err
    )
    assert "Traceback" not in refused.err
