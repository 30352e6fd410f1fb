"""Floe for JupyterLab: the prebuilt labextension, the hub launcher and its jupyter-server-proxy entry.

The labextension is installed as data files (share/jupyter/labextensions/floe-jupyterlab);
``_jupyter_labextension_paths`` also lets ``jupyter labextension develop`` find it in a checkout.
jupyter-server-proxy starts the hub through ``floe_jupyter.proxy``; the small server extension here
(enabled by jupyter-config/jupyter_server_config.d/floe.json) checks at start-up that it can, so a
broken installation shows up in the server log at once, not only as an unreachable hub in the sidebar.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "floe-jupyterlab"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "floe_jupyter"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from .hub import HubLaunchError, floe_root, node_executable
    from .proxy import hub_launcher

    base_url = server_app.web_app.settings.get("base_url", "/")
    try:
        root, node = floe_root(), node_executable()
    except HubLaunchError as err:
        server_app.log.warning("%s (the Floe sidebar will report the hub as unreachable)", err)
        return
    server_app.log.info(
        "floe: the Floe hub starts on first use of %sfloe-hub/ (%s, Floe at %s, %s)", base_url, hub_launcher(), root, node
    )
