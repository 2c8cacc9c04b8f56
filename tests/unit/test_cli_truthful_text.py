"""What the CLI prints of a run says what is true (findings of a new-user trial): a
failed or partial run never says the ledger matches the venue, a desync pause lifted
while an emergency halt holds says the halt holds, counts take their plural, times are
ISO with their zone, durations rounded, argument errors exit 1, and a piped secret is
read without getpass's echo warning."""

from __future__ import annotations

import io
import logging
import warnings
from typing import Any

import pytest

from console.__main__ import (
    _db_url,
    _detail,
    _read_secret,
    build_parser,
    main,
    print_run,
    run_to_json,
)
from console.domain.reconciliation import (
    Action,
    ActionKind,
    ActionState,
    Decision,
    PlannedAction,
    RunRecord,
    RunStatus,
    RunTrigger,
)
from console.domain.text import iso_utc, plural
from console.service.journal import HumanFormatter

MATCHES = "the ledger matches the venue"


def run(status: RunStatus, **fields: Any) -> RunRecord:
    return RunRecord("r1", "deribit", "main", RunTrigger.STARTUP, 1_000, 1_050, status,
                     **fields)


def printed(capsys: pytest.CaptureFixture[str], record: RunRecord,
            trading: tuple[str, str] | None = None) -> str:
    print_run(record, 22.906, "header", trading)
    return capsys.readouterr().out


def test_a_failed_run_never_says_the_ledger_matches(capsys: pytest.CaptureFixture[str]) -> None:
    failed = run(RunStatus.FAILED, errors=(
        "fetch_positions: Invalid params (invalid currency) (code -32602)",),
        unverified=("positions: the venue's list could not be read",))
    text = printed(capsys, failed, ("trading", ""))
    assert MATCHES not in text
    assert "Not compared: the run failed" in text
    assert "Trading: TRADING (unchanged: this run could not check the venue)" in text


def test_a_partial_run_says_what_was_not_compared(capsys: pytest.CaptureFixture[str]) -> None:
    text = printed(capsys, run(RunStatus.PARTIAL, unverified=("fills: not read",)))
    assert MATCHES not in text
    assert "1 check not verified" in text and "Not verified: fills: not read" in text
    clean = printed(capsys, run(RunStatus.OK))
    assert f"No discrepancies: {MATCHES}." in clean


def test_a_pause_lifted_under_a_halt_says_the_halt_holds(
        capsys: pytest.CaptureFixture[str]) -> None:
    resume = PlannedAction(Action(ActionKind.RESUME_TRADING, subject="trading",
                                  summary="clean reconciliation: lift the desync pause"),
                           Decision.AUTO, ActionState.APPLIED, "auto")
    record = run(RunStatus.OK, actions=(resume,))
    halted = printed(capsys, record, ("halted", "emergency stop by root; until an operator "
                                                "resumes"))
    assert "lift the desync pause; the emergency halt still holds" in halted
    assert "resume trading" not in halted
    assert "halt still holds" not in printed(capsys, record, ("trading", ""))


def test_counts_take_their_plural_and_durations_are_rounded(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert plural(1, "discrepancy") == "1 discrepancy"
    assert plural(2, "discrepancy") == "2 discrepancies"
    assert plural(1, "action") == "1 action" and plural(0, "check") == "0 checks"
    text = printed(capsys, run(RunStatus.OK))
    assert "22.9 ms" in text and "22.906" not in text
    record = run_to_json(run(RunStatus.OK), duration_ms=22.906)
    assert record["duration_ms"] == 23 and isinstance(record["duration_ms"], int)


def test_audit_details_show_times_and_durations_for_reading() -> None:
    assert _detail("issued_at", "1796448817951") == iso_utc(1796448817951)
    assert iso_utc(1796448817951).endswith("Z") and "T" in iso_utc(1796448817951)
    assert _detail("cancel_acknowledged_ms", "20.166350001090905") == "20.2 ms"
    assert _detail("reason", "fat finger") == "fat finger"


def test_log_lines_carry_their_zone() -> None:
    record = logging.LogRecord("console", logging.INFO, __file__, 1, "lease taken", None,
                               None)
    line = HumanFormatter().format(record)
    stamp = line.split(" ", 1)[0]
    assert stamp.endswith("Z") and "T" in stamp, line


def test_argument_errors_exit_1_with_the_usage_on_stderr(
        capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["reconcile", "--bogus"], ["reconcil"], ["sim", "--venue", "kraken"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 1, argv
        err = capsys.readouterr().err
        assert "usage: recon-console" in err and "error:" in err, argv
    with pytest.raises(SystemExit) as daemon:
        main(["run", "--bogus"])
    assert daemon.value.code == 64  # the daemon's EX_USAGE for its supervisor


def test_a_plain_db_path_is_an_sqlite_url(tmp_path: Any) -> None:
    assert _db_url(str(tmp_path / "mf2.db")) == f"sqlite:///{tmp_path / 'mf2.db'}"
    assert _db_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_a_piped_secret_is_read_plainly_without_the_echo_warning(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("key-1\nsecret-2\n"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # getpass's GetPassWarning would raise here
        assert _read_secret("API key: ") == "key-1"
        assert _read_secret("API secret: ") == "secret-2"


def help_of(*argv: str) -> None:
    """Print the help of a command (argparse exits 0 after it)."""
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--help"])


def test_help_reads_right_for_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    help_of("profiles")
    profiles = " ".join(capsys.readouterr().out.split())
    assert "binance, bybit: USD-M" not in profiles
    assert "binance: cancel every order of the traded symbols" in profiles
    assert "bybit: disconnection protection" in profiles
    help_of("audit")
    assert "(default: None)" not in capsys.readouterr().out
    help_of("sim")
    sim = " ".join(capsys.readouterr().out.split())
    assert "(default: the first)" not in sim and "(default: bybit)" in sim
    for said in ("--api-key API_KEY the key", "--api-secret API_SECRET the secret",
                 "--seed SEED the sim's random seed"):
        assert said in sim, said
    help_of("resume")
    assert "Close the circuit breaker" in capsys.readouterr().out
