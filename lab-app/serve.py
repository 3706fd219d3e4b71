"""Serves the lab front end in ./build with Debian's jupyterlab-server (python3-jupyterlab-server).

JupyterLab's own Python package is what usually serves its front end; it is not packaged for
Debian 12. jupyterlab-server's LabServerApp is the part of it that matters: the /lab page, the
settings, themes, workspaces and translations APIs. jupyter-server adds contents, sessions and
kernels (with every installed kernelspec, so also `resnet-ts`).

    /usr/bin/python3 lab-app/serve.py [jupyter-server options, e.g. --ServerApp.port=8888]

`npm run lab` (tools/lab.ts) builds the front end if needed and starts this with the notebooks
folder as the root.
"""
import json
import os

from jupyter_core.paths import jupyter_config_dir
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from jupyterlab_server import LabServerApp
from tornado import web
from tornado.web import StaticFileHandler

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")
# MathJax 2 from Debian (libjs-mathjax, a dependency of jupyter-notebook): without it, the lab
# asks a CDN, which an offline machine cannot reach.
MATHJAX_DIR = "/usr/share/javascript/mathjax"

# User settings and workspaces where JupyterLab keeps them (~/.jupyter/lab/...), not in ./build,
# which a rebuild replaces. RESNET_TS_LAB_STATE puts both elsewhere (tests use a fresh folder).
_state = os.environ.get("RESNET_TS_LAB_STATE")
USER_SETTINGS = os.path.join(_state, "user-settings") if _state else os.path.join(jupyter_config_dir(), "lab", "user-settings")
WORKSPACES = os.path.join(_state, "workspaces") if _state else os.path.join(jupyter_config_dir(), "lab", "workspaces")

# Configuration files of other Jupyter installations must not change this application.
os.environ["JUPYTER_NO_CONFIG"] = "1"

with open(os.path.join(HERE, "package.json")) as f:
    VERSION = json.load(f)["version"]


class IdentityHandler(APIHandler):
    """GET /api/me as jupyter-server 2 answers it. JupyterLab 3.6's front end asks for the user's
    identity there; Debian's jupyter-server 1.23 predates that API (a 404 in the console)."""

    @web.authenticated
    def get(self):
        user = self.current_user
        name = user if isinstance(user, str) else (user or {}).get("name", "anonymous")
        identity = {
            "username": name,
            "name": name,
            "display_name": name,
            "initials": name[:1].upper(),
            "avatar_url": None,
            "color": None,
        }
        self.finish(json.dumps({"identity": identity, "permissions": {}}))


def _jupyter_server_extension_points():
    return [{"module": __name__, "app": ResnetTsLab}]


class ResnetTsLab(LabServerApp):
    name = "resnet_ts_lab"
    app_name = "JupyterLab (resnet-ts)"
    app_version = VERSION
    extension_url = "/lab"
    default_url = "/lab"
    load_other_extensions = False
    static_dir = BUILD
    templates_dir = os.path.join(HERE, "templates")
    schemas_dir = os.path.join(BUILD, "schemas")
    themes_dir = os.path.join(BUILD, "themes")
    # settings/overrides.json: defaults this server needs (locale "en": jupyterlab-server 2.16 does
    # not know 3.6's locale "default" and the console would warn on every page load).
    app_settings_dir = os.path.join(HERE, "settings")
    user_settings_dir = USER_SETTINGS
    workspaces_dir = WORKSPACES

    def initialize_settings(self):
        super().initialize_settings()
        settings = self.serverapp.web_app.settings
        if os.path.isfile(os.path.join(MATHJAX_DIR, "MathJax.js")):
            base = self.serverapp.base_url
            settings["mathjax_url"] = url_path_join(base, "resnet-ts-mathjax", "MathJax.js")

    def initialize_handlers(self):
        super().initialize_handlers()
        self.handlers.append(("/api/me", IdentityHandler))
        if os.path.isdir(MATHJAX_DIR):
            self.handlers.append(
                ("/resnet-ts-mathjax/(.*)", StaticFileHandler, {"path": MATHJAX_DIR})
            )


if __name__ == "__main__":
    if not os.path.isfile(os.path.join(BUILD, "bundle.js")):
        raise SystemExit(f"lab: the front end is not built ({BUILD}/bundle.js missing): run `npm run lab:build`")
    ResnetTsLab.launch_instance()
