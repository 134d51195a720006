"""The Policy & Audit tab: recent gate decisions, chain verification, a policy check form.

Verification recomputes the audit log's hash chain; giving the chain head you kept
elsewhere also catches a log that was rewritten and re-hashed in full.
"""

from __future__ import annotations

import gradio as gr

from mesh.core import Mesh
from mesh.errors import MeshError
from mesh.ui.progress import clip

AUDIT_HEADERS = ["seq", "time", "principal", "action", "object", "decision", "reason", "run"]
ANY = "any"


def audit_rows(mesh: Mesh, principal: str, decision: str, limit: float | None) -> list[list[str]]:
    """The newest audit records first, filtered by principal and decision."""
    filters = {"principal": principal.strip()} if principal.strip() else {}
    if decision in ("allow", "deny"):
        filters["decision"] = decision
    count = max(1, min(int(limit or 50), 1000))
    records = mesh.audit.records(limit=count, **filters)
    return [
        [
            str(r.seq),
            r.ts[:19].replace("T", " "),
            r.principal,
            r.action,
            r.obj,
            r.decision,
            clip(r.reason, 80),
            r.run_id[:12],
        ]
        for r in reversed(records)
    ]


def verify(mesh: Mesh, expected_head: str) -> str:
    ok, message = mesh.audit.verify(expected_head.strip() or None)
    return ("✅ " if ok else "❌ ") + message


def check(mesh: Mesh, subject: str, obj: str, action: str) -> str:
    if not (subject.strip() and obj.strip() and action.strip()):
        return "Give a subject, an object and an action, e.g. alice · agent:calculator · dispatch."
    try:
        decision = mesh.policy.check(subject.strip(), obj.strip(), action.strip())
    except MeshError as exc:
        return f"❌ {exc}"
    verdict = "✅ **allow**" if decision.allowed else "⛔ **deny**"
    return f"{verdict} — {decision.reason}"


def policy_tab(mesh: Mesh, tab: gr.Tab) -> None:
    """Build the tab's contents inside `tab`; the decisions reload whenever it is opened."""
    with gr.Row():
        principal = gr.Textbox(label="Principal", placeholder="any", elem_id="audit-principal")
        decision = gr.Dropdown([ANY, "allow", "deny"], value=ANY, label="Decision")
        limit = gr.Number(50, label="Records", precision=0, minimum=1, maximum=1000)
        refresh = gr.Button("Refresh", elem_id="audit-refresh")
    table = gr.Dataframe(
        headers=AUDIT_HEADERS,
        value=audit_rows(mesh, "", ANY, 50),
        interactive=False,
        wrap=True,
        elem_id="audit-table",
        label="Recent decisions (newest first)",
    )
    with gr.Row(equal_height=False):
        with gr.Column():
            gr.Markdown("### Verify the audit chain")
            head = gr.Textbox(
                label="Expected chain head (optional)",
                placeholder="the head hash you kept",
                elem_id="audit-head",
            )
            verify_btn = gr.Button("Verify", elem_id="audit-verify")
            verified = gr.Markdown(elem_id="audit-verify-result")
        with gr.Column():
            gr.Markdown("### Check the policy")
            with gr.Row():
                subject = gr.Textbox(label="Subject", value="local", elem_id="policy-sub")
                obj = gr.Textbox(label="Object", value="agent:calculator", elem_id="policy-obj")
                action = gr.Textbox(label="Action", value="dispatch", elem_id="policy-act")
            check_btn = gr.Button("Check", elem_id="policy-check")
            checked = gr.Markdown(elem_id="policy-check-result")

    def rows(p: str, d: str, n: float | None) -> list[list[str]]:
        return audit_rows(mesh, p, d, n)

    filters = [principal, decision, limit]
    refresh.click(rows, filters, table, api_name="audit_records")
    decision.change(rows, filters, table, api_visibility="private")
    principal.submit(rows, filters, table, api_visibility="private")
    tab.select(rows, filters, table, api_visibility="private")
    verify_btn.click(lambda h: verify(mesh, h), head, verified, api_name="audit_verify")
    check_btn.click(
        lambda s, o, a: check(mesh, s, o, a),
        [subject, obj, action],
        checked,
        api_name="policy_check",
    )
