"""Run by the host-view test inside `.venv-host` (Python 3.13 with azure-functions-runtime): the worker's own indexing.

Compiles the vendored Functions RPC protos (the messages the host and worker exchange), hands them to the worker
library as its proxy would, indexes function_app.py through azure_functions_runtime.handle_event (the
handlers of the WorkerInitRequest and FunctionsMetadataRequest messages) and prints each RpcFunctionMetadata as JSON.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

PROTOS = ["FunctionRpc.proto", "identity/ClaimsIdentityRpc.proto", "shared/NullableTypes.proto"]


def compile_protos(proto_dir: Path) -> Any:
    """The generated modules, as a package of their own (the worker rewrites their imports the same way), so that
    the protos' `shared` folder does not shadow the app's `shared` package."""
    import grpc_tools
    from grpc_tools import protoc

    out = Path(tempfile.mkdtemp(prefix="host-protos-"))
    package = out / "fxprotos"
    package.mkdir()
    include = Path(grpc_tools.__file__).parent / "_proto"
    if protoc.main(["protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={package}", *PROTOS]) != 0:
        raise SystemExit("protoc failed on the vendored Functions RPC protos")
    for generated in package.rglob("*_pb2.py"):
        text = generated.read_text()
        for folder in ("identity", "shared"):
            text = text.replace(f"from {folder} import", f"from fxprotos.{folder} import")
        generated.write_text(text)
    for directory in (package, package / "identity", package / "shared"):
        (directory / "__init__.py").touch()
    sys.path.insert(0, str(out))
    return importlib.import_module("fxprotos.FunctionRpc_pb2")


def main() -> None:
    app_dir, proto_dir = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    protos = compile_protos(proto_dir)
    sys.path.insert(0, str(app_dir))
    os.chdir(app_dir)
    os.environ["PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"] = "false"  # no exporter to start here
    from azure_functions_runtime import handle_event
    from azure_functions_runtime.version import VERSION

    def message(**fields: Any) -> SimpleNamespace:
        """A host message as the proxy worker hands it to the library: the StreamingMessage and its properties."""
        return SimpleNamespace(request=protos.StreamingMessage(**fields), properties={"protos": protos, "host": "127.0.0.1"})

    init = asyncio.run(handle_event.worker_init_request(message(
        worker_init_request=protos.WorkerInitRequest(host_version="4.1044.0", function_app_directory=str(app_dir)))))
    if init.result.status != protos.StatusResult.Success:
        raise SystemExit(f"WorkerInitRequest failed: {init.result.exception.message}")
    answer = asyncio.run(handle_event.functions_metadata_request(message(
        functions_metadata_request=protos.FunctionsMetadataRequest(function_app_directory=str(app_dir)))))
    if answer.result.status != protos.StatusResult.Success:
        raise SystemExit(f"FunctionsMetadataRequest failed: {answer.result.exception.message}")
    direction = protos.BindingInfo.Direction
    print(json.dumps({
        "runtime": VERSION,
        "python": sys.version.split()[0],
        "useDefaultMetadataIndexing": answer.use_default_metadata_indexing,
        "capabilities": dict(init.capabilities),
        "functions": [{
            "name": m.name, "entryPoint": m.entry_point, "scriptFile": m.script_file, "language": m.language,
            "properties": dict(m.properties),
            "rawBindings": [json.loads(b) for b in m.raw_bindings],
            "bindings": {k: {"type": v.type, "direction": direction.Name(v.direction)} for k, v in m.bindings.items()},
        } for m in answer.function_metadata_results],
    }))


if __name__ == "__main__":
    main()
