"""``mode: live`` with Alpaca on simulated prices is refused before Alpaca is contacted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from regimeflex.cli import main

    monkeypatch.setenv("REGIMEFLEX_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.setenv("APCA_API_KEY_ID", "test-key-not-real")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "test-secret-not-real")

    def invoke(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return int(exited.value.code or 0), out, err

    return invoke


def test_live_alpaca_on_synthetic_prices_is_refused_and_alpaca_never_contacted(httpserver, tmp_path, run_cli) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    url = httpserver.url_for("/")
    (config / "broker.yaml").write_text(
        yaml.safe_dump({"broker": "alpaca", "mode": "live", "brokers": {"alpaca": {"base_url": url, "live_url": url}}})
    )
    code, out, err = run_cli("--config", config, "run", "--as-of", "2024-03-13", "--live")
    assert code == 2
    assert "mode: live refused: data.yaml: provider 'synthetic' does not declare real_market_data" in out + err
    assert httpserver.log == []
