"""Running `recon-console run --headless` under a supervisor (systemd or any other): exit
codes it can act on, the sd_notify readiness and watchdog protocol, journald-style logs."""
