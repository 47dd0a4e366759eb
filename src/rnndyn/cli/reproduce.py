"""`rnndyn reproduce`: re-run the papers' headline claims, with computed verdicts (no numerics here)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from rnndyn.cli._common import (
    JsonOpt,
    SeedOpt,
    check_outputs,
    console,
    err_console,
    fail,
    with_overall_status,
    write_json,
)


def _with_status(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` (``--all --json``) with a top-level ``status``, the worst of the claims' (as
    :func:`~rnndyn.cli._common.with_overall_status` gives other commands), and a ``message`` naming
    the claims by id under each status rather than by their index in the list."""
    claims = payload["claims"]
    overall = with_overall_status({"claims": claims})  # the worst status, by the same rule
    if "status" not in overall:
        return payload
    by_status: dict[str, list[str]] = {}
    for c in claims:
        by_status.setdefault(c["status"], []).append(c["id"])
    parts = [
        f"{len(ids)} {status}" + ("" if status == "success" else f" ({', '.join(ids)})")
        for status, ids in sorted(by_status.items())
    ]
    message = f"worst of the {len(claims)} claims' statuses: " + "; ".join(parts)
    return {"status": overall["status"], "message": message, **payload}


def reproduce_cmd(
    claim_id: Annotated[str | None, typer.Argument(help="Claim id (see --list).", show_default=False)] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the claims: id, paper, claim, cost.")] = False,
    all_: Annotated[
        bool, typer.Option("--all", help="Run every claim and write the gallery index.html.")
    ] = False,
    quick: Annotated[bool, typer.Option("--quick", help="Small settings (default).")] = False,
    full: Annotated[
        bool, typer.Option("--full", help="The paper-sized settings (grids go through rd.sweep).")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for figure.png, claim.json, summary.txt (and index.html)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address for sweeps ('local': a local cluster)."),
    ] = None,
    seed: SeedOpt = 0,
    json_path: JsonOpt = None,
) -> None:
    """Reproduce a paper's claim: ours beside the paper's number, and a computed verdict
    (agrees / partly / disagrees / no paper value). See docs/reproductions.md."""
    import rnndyn.reproduce as rp

    if quick and full:
        raise fail("give one of --quick and --full, not both")
    mode = "full" if full else "quick"
    if list_ and (all_ or claim_id is not None):
        raise fail("`--list` only lists the claims; got it with " + ("--all" if all_ else repr(claim_id)))
    # a re-run overwrites its files (no --force here); paths are checked before any computation
    check_outputs(json_path=json_path, out=None if list_ else out, force=True)
    if list_:
        from rich.markup import escape
        from rich.table import Table

        table = Table(title="rnndyn reproduce: claims")
        table.add_column("id", no_wrap=True)
        table.add_column("paper")
        table.add_column("claim")
        table.add_column("quick")
        table.add_column("full")
        for c in rp.claims():
            status = "" if c.compute is not None else f" [{c.status}]"
            table.add_row(
                c.id,
                f"{c.paper.authors.split(',')[0]} {c.paper.year}, arXiv:{c.paper.arxiv}, {c.where}",
                escape(c.claim + status),  # a status in [...] is text, not rich markup
                c.cost["quick"],
                c.cost["full"],
            )
        console.print(table)
        if json_path is not None:
            write_json(
                json_path,
                {
                    "claims": [
                        {
                            "id": c.id,
                            "paper": c.paper.to_dict(),
                            "where": c.where,
                            "claim": c.claim,
                            "cost": dict(c.cost),
                            "status": c.status,
                        }
                        for c in rp.claims()
                    ]
                },
            )
        return
    if all_ == (claim_id is not None):
        raise fail("give a claim id or --all (see `rnndyn reproduce --list`)")
    ids = [c.id for c in rp.claims()]
    if claim_id is not None and claim_id not in ids:
        raise fail(
            f"`CLAIM_ID` {claim_id!r} is not registered; it must be one of {', '.join(ids)} "
            "(see `rnndyn reproduce --list`)"
        )
    if scheduler is not None:  # before: ignored without a word by the claims that run no grid
        grid_ids = [c.id for c in rp.claims() if c.grid]
        if claim_id is not None and claim_id not in grid_ids:
            raise fail(
                "`--scheduler` applies only to the claims that run a grid through rd.sweep "
                f"({', '.join(grid_ids)}); {claim_id} runs in this process; got --scheduler {scheduler}"
            )
        if all_:
            err_console.print(
                f"note: --scheduler {scheduler} applies to the {len(grid_ids)} claims that run a grid "
                f"through rd.sweep ({', '.join(grid_ids)}); the others run in this process",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    if out is None:
        raise fail("`--out DIR` is required to run a claim (figure.png, claim.json and summary.txt go there)")
    try:
        if all_:
            from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

            from rnndyn.cli._common import progress_display

            with progress_display(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
            ) as bar:
                task = bar.add_task("claims", total=len(rp.claims()))

                def prog(cid: str, k: int, n: int) -> None:
                    bar.update(task, completed=k, description=cid or "done")

                results, index = rp.run_all(mode=mode, out=out, seed=seed, scheduler=scheduler, progress=prog)
            for r in results:
                console.print(f"{r.id:32s} {r.state:16s} {r.seconds:6.1f} s", markup=False, highlight=False)
            console.print(f"gallery: {index}")
            if json_path is not None:  # a top-level status as in every other command's JSON
                write_json(json_path, _with_status({"mode": mode, "claims": [r.to_dict() for r in results]}))
            return
        with err_console.status(f"running {claim_id} ({mode})"):  # on stderr: stdout gets the result
            res = rp.run_claim(claim_id, mode=mode, out=out, seed=seed, scheduler=scheduler)
    except (TypeError, ValueError) as exc:
        raise fail(str(exc)) from None
    console.print(res.text(), markup=False, highlight=False)
    if json_path is not None:
        write_json(json_path, res.to_dict())
    if res.status == "failed":
        raise typer.Exit(code=1)
