"""``floe-hub``: starts the Floe hub (a Node HTTP service in kernel-services) for jupyter-server-proxy.

jupyter-server-proxy runs ``floe-hub --socket {unix_socket}`` on first use of ``<base_url>/floe-hub/``
(see jupyter-config/jupyter_server_config.d/floe.json). This script only finds the Floe checkout and
Node, then replaces itself with ``node kernel-services/bin/floe.js hub ...`` so that signals from the
proxy reach the hub directly.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import signal
import sys
from pathlib import Path

LAUNCHER = Path("kernel-services") / "bin" / "floe.js"
COMPILED_CLI = Path("kernel-services") / "dist" / "cli" / "main.js"


class HubLaunchError(RuntimeError):
    """The hub cannot be started; the message says what is missing and what to do."""


def floe_root(environ: dict[str, str] | None = None, prefix: str | None = None) -> Path:
    """The Floe checkout: ``FLOE_ROOT`` when set, else the parent of this environment (``<repo>/.venv``)."""
    environ = os.environ if environ is None else environ
    from_env = environ.get("FLOE_ROOT")
    if from_env:
        root, source = Path(from_env), "FLOE_ROOT"
    else:
        root, source = Path(sys.prefix if prefix is None else prefix).resolve().parent, "the parent of the Python environment"
    if not (root / LAUNCHER).is_file():
        raise HubLaunchError(
            f"floe-hub: no Floe checkout at {root} ({source}): {LAUNCHER} is missing. "
            "Set FLOE_ROOT to the Floe repository, or install floe-jupyter into <repo>/.venv with scripts/setup.sh."
        )
    if not (root / COMPILED_CLI).is_file():
        raise HubLaunchError(
            f"floe-hub: Floe at {root} is not built ({COMPILED_CLI} is missing). Run: bash scripts/setup.sh"
        )
    return root


def node_executable(environ: dict[str, str] | None = None) -> str:
    """Node.js: ``FLOE_NODE`` when set, else ``node`` on PATH."""
    environ = os.environ if environ is None else environ
    node = environ.get("FLOE_NODE") or shutil.which("node", path=environ.get("PATH"))
    if not node:
        raise HubLaunchError("floe-hub: Node.js (node) is not on PATH; install Node 20+ or set FLOE_NODE to its path")
    return node


def hub_command(argv: list[str], environ: dict[str, str] | None = None) -> list[str]:
    """The Node command line that runs the hub for these ``floe-hub`` arguments."""
    parser = argparse.ArgumentParser(prog="floe-hub", description="Start the Floe hub (loopback or unix socket only).")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket", help="unix socket path to listen on (what jupyter-server-proxy passes)")
    where.add_argument("--port", type=int, help="loopback TCP port to listen on")
    args = parser.parse_args(argv)
    root = floe_root(environ)
    command = [node_executable(environ), str(root / LAUNCHER), "hub"]
    command += ["--socket", args.socket] if args.socket else ["--port", str(args.port)]
    return command


def stop_with_parent() -> None:
    """Linux: ask the kernel to send the hub SIGTERM when the process that started it dies.

    A Jupyter server that ends without stopping its children (``os._exit``, as in
    ``python -m jupyterlab.browser_check``, or a crash) would otherwise leave the hub running. The
    setting survives the exec into Node; elsewhere the hub relies on the proxy's own shutdown.
    """
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    try:
        command = hub_command(sys.argv[1:] if argv is None else argv)
    except HubLaunchError as err:
        print(err, file=sys.stderr)
        sys.exit(1)
    stop_with_parent()
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
