"""The Gradio app on the mesh: Chat, Marketplace, and Policy & Audit tabs.

`build_app(mesh)` builds it; `serve(mesh, host, port, auth_file=...)` serves it on
127.0.0.1 unless told otherwise. With a users file, Gradio asks for a login and each
user acts as the policy principal of the same name; without one, everything runs as the
mesh's default user. Gradio is imported only under `mesh.ui`, so the rest of the mesh
works without a UI stack loaded. The app serves no files of its own beyond Gradio's:
the mesh home is on Gradio's blocked list in case anything ever points there.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from mesh.core import Mesh
from mesh.ui.auth import authenticator, load_users
from mesh.ui.chat import chat_tab, user_of
from mesh.ui.marketplace import marketplace_tab
from mesh.ui.policy_tab import policy_tab

TITLE = "Agentic Mesh"
DESCRIPTION = (
    "Ask for anything the registered agents can do: the mesh plans the work, finds agents"
    " by meaning, checks the policy, runs them and shows you each step."
)
CSS = """
.mk-card {border: 1px solid #d1d5db; border-radius: 10px; padding: 10px 14px; margin: 8px 0;}
.mk-head small {color: #6b7280}
.mk-score {float: right; font-size: 12px; color: #2563eb}
.mk-tag {display: inline-block; background: #eef2ff; color: #3730a3; border-radius: 9px;
         padding: 0 8px; margin: 2px 4px 2px 0; font-size: 12px}
.mk-skills {margin: 6px 0 0 0; font-size: 13px}
.mk-best {background: #fef9c3}
.mk-weak {opacity: 0.55}
.mk-available {color: #16a34a} .mk-offline {color: #dc2626} .mk-busy, .mk-draining {color: #d97706}
.mesh-dag-empty {color: #6b7280; padding: 12px}
"""


def who(request: gr.Request, mesh: Mesh) -> str:
    user = user_of(request)
    if user:
        return f"{DESCRIPTION}\n\nSigned in as **{user}**; the policy decides what you may do."
    return f"{DESCRIPTION}\n\nRunning as **{mesh.settings.default_user}** (no login)."


def build_app(mesh: Mesh) -> gr.Blocks:
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"# {TITLE}")
        header = gr.Markdown(DESCRIPTION, elem_id="identity")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat_tab(mesh)
            with gr.Tab("Marketplace", id="marketplace"):
                marketplace_tab(mesh)
            with gr.Tab("Policy & Audit", id="policy") as policy:
                policy_tab(mesh, policy)

        def identity(request: gr.Request) -> str:
            return who(request, mesh)

        app.load(identity, None, header, api_visibility="private")
    return app


def launch_options(mesh: Mesh, auth_file: str | Path | None = None) -> dict[str, object]:
    """What `serve` passes to Gradio's launch besides host and port."""
    options: dict[str, object] = {
        "show_error": True,
        "css": CSS,
        "blocked_paths": [str(mesh.settings.home.resolve())],
        "footer_links": ["api"],
    }
    if auth_file:
        options["auth"] = authenticator(load_users(auth_file))
        options["auth_message"] = "Sign in: your user name is your principal in the mesh's policy."
    return options


def serve(
    mesh: Mesh,
    host: str | None = None,
    port: int | None = None,
    *,
    auth_file: str | Path | None = None,
) -> None:
    options = launch_options(mesh, auth_file)
    app = build_app(mesh)
    app.queue().launch(
        server_name=host or mesh.settings.ui_host,
        server_port=port or mesh.settings.ui_port,
        **options,
    )
