"""`timebank stations …`: the reconciliation of every station's ledger accounts against its redemptions."""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from timebank.redeem.models import Station
from timebank.redeem.reports import reconcile, reconcile_all


stations = AppGroup("stations", help="Stations and their redemptions.")


@stations.command(name="reconcile")
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Only this local day (YYYY-MM-DD).")
def reconcile_command(day: dt.datetime | None) -> None:
    """Tie each station's ledger accounts to its redemptions; exit 1 naming every station that is off."""
    with current_app.extensions["timebank.database"].session(write=False) as session:
        if day is None:
            results = reconcile_all(session)
        else:
            results = [reconcile(session, station, day=day.date()) for station in session.scalars(select(Station).order_by(Station.id))]
    off = 0
    for result in results:
        for difference in result.differences:
            line = f"{result.station.id} {result.station.name} {difference.unit}: ledger {difference.ledger}, redemptions {difference.redemptions}"
            if difference.off_by:
                off += 1
                click.echo(f"MISMATCH {line}, off by {difference.off_by:+d}", err=True)
            else:
                click.echo(f"agrees   {line}")
        for item in result.stock:
            off += 1
            click.echo(f"MISMATCH {result.station.id} {result.station.name} stock of {item.item}: counted {item.counted}, movements add up to {item.moved}", err=True)
    if off:
        raise click.ClickException(f"{off} difference(s) between stations' records and their redemptions or stock movements")
    click.echo(f"{len(results)} station(s) reconciled to the point")
