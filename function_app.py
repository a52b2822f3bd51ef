"""The Azure Functions entry point (Python v2 model): a probe timer, the executor it queues changes to, and the operators' HTTP API, all thin."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import azure.functions as func

from shared.edge.api import Operation, error, handle
from shared.edge.console import console_page
from shared.edge.runtime import Runtime

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
runtime = Runtime(Path(__file__).resolve().parent)
_log = logging.getLogger("nva_failover.app")


def _answer(operation: Operation, req: func.HttpRequest) -> func.HttpResponse:
    status, body = handle(runtime.engine, operation, req.route_params.get("cluster"), req.get_body() or b"", req.params)
    headers = {"Location": body["statusUrl"]} if status == 202 else None  # still running: where its outcome will be
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json", headers=headers)


@app.function_name("probe")
@app.timer_trigger(arg_name="timer", schedule="%NVA_HA_PROBE_SCHEDULE%", run_on_startup=False, use_monitor=True)
def probe(timer: func.TimerRequest) -> None:
    """Probe every NVA of every cluster and act: fail over, resume, repair drift."""
    outcomes = runtime.probe_cycle()
    _log.info("probe cycle%s: %s", " (past due)" if timer.past_due else "", outcomes)


@app.function_name("execute")
@app.queue_trigger(arg_name="message", queue_name="%NVA_HA_QUEUE%", connection="AzureWebJobsStorage")
def execute(message: func.QueueMessage) -> None:
    """Carry out a failover, resume or drift repair that the timer or the API locked and queued."""
    outcome = runtime.execute(message.get_body())
    _log.info("queued change (dequeued %s times): %s", message.dequeue_count, outcome)


@app.function_name("list_clusters")
@app.route(route="clusters", methods=["GET"])
def list_clusters(req: func.HttpRequest) -> func.HttpResponse:
    return _answer("list", req)


@app.function_name("get_cluster")
@app.route(route="clusters/{cluster}", methods=["GET"])
def get_cluster(req: func.HttpRequest) -> func.HttpResponse:
    return _answer("get", req)


@app.function_name("failover")
@app.route(route="clusters/{cluster}/failover", methods=["POST"])
def failover(req: func.HttpRequest) -> func.HttpResponse:
    return _answer("failover", req)


@app.function_name("pause")
@app.route(route="clusters/{cluster}/pause", methods=["POST"])
def pause(req: func.HttpRequest) -> func.HttpResponse:
    return _answer("pause", req)


@app.function_name("resume")
@app.route(route="clusters/{cluster}/resume", methods=["POST"])
def resume(req: func.HttpRequest) -> func.HttpResponse:
    return _answer("resume", req)


@app.function_name("check")
@app.route(route="clusters/{cluster}/check", methods=["GET"])
def check(req: func.HttpRequest) -> func.HttpResponse:
    return _answer("check", req)


@app.function_name("history")
@app.route(route="clusters/{cluster}/history", methods=["GET"])
def history(req: func.HttpRequest) -> func.HttpResponse:
    return _answer("history", req)


@app.function_name("console")
@app.route(route="console", methods=["GET"])
def console(req: func.HttpRequest) -> func.HttpResponse:
    """The operators' console; opened with ?code=<function key>, it calls the API with that key."""
    try:
        page, headers = console_page()
    except OSError as err:
        _log.exception("the console page could not be read")
        status, body = error(500, "InternalError", f"the console page is missing from the package: {err.strerror}")
        return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")
    return func.HttpResponse(page, status_code=200, headers=headers, mimetype="text/html", charset="utf-8")
