"""watchdog-period: the loop held past the period leaves the stack in the log, as redis-server's watchdog."""

from __future__ import annotations

from tests.net.test_crash import logged_server
from tests.net.util import resp2

EXPIRED = "--- WATCHDOG TIMER EXPIRED ---"


def test_a_held_loop_logs_its_stack_and_a_period_of_zero_stops_it(tmp_path):
    with logged_server(tmp_path) as (port, _, log):
        client = resp2(port)
        client.execute_command("DEBUG", "SLEEP", "0.5")
        assert EXPIRED not in log.read_text()  # off by default
        client.config_set("watchdog-period", 200)
        client.execute_command("DEBUG", "SLEEP", "0.6")
        text = log.read_text()
        assert text.count(EXPIRED) == 1
        assert "time.sleep" in text.split(EXPIRED)[1]  # where the signal found the server
        client.config_set("watchdog-period", 0)
        client.execute_command("DEBUG", "SLEEP", "0.5")
        assert log.read_text().count(EXPIRED) == 1
        assert client.ping()


def test_a_period_under_two_cron_intervals_is_raised_to_them(tmp_path):
    """hz 1: the cron ticks once a second, so a 200 ms watchdog would go off between ticks."""
    with logged_server(tmp_path, "--hz", "1") as (port, _, log):
        client = resp2(port)
        client.config_set("watchdog-period", 200)
        client.execute_command("DEBUG", "SLEEP", "1.2")
        assert EXPIRED not in log.read_text()
