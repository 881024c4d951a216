"""A fake Dialogflow ES API on loopback gRPC, for testing ``townhall agent deploy`` with the real
``google-cloud-dialogflow`` client over real gRPC.

Generic gRPC handlers, (de)serialising with the client library's own request and response types:
``Agents.RestoreAgent`` / ``TrainAgent`` (long-running operations, answered done), ``GetAgent``,
``Fulfillments.UpdateFulfillment`` / ``GetFulfillment``, and ``google.longrunning.Operations
.GetOperation``. It checks what it receives as Dialogflow would (a readable agent ZIP, a known
project as parent, a fulfillment under that project) and records every request for the tests.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from google.cloud.dialogflow_v2 import types
from google.longrunning import operations_pb2
from google.protobuf import any_pb2, empty_pb2


@dataclass
class Call:
    method: str
    request: object


@dataclass
class FakeDialogflow:
    projects: set[str]  # projects that have an agent
    calls: list[Call] = field(default_factory=list)
    fulfillments: dict[str, types.Fulfillment] = field(default_factory=dict)
    restored: dict[str, bytes] = field(default_factory=dict)
    # (method, project, fulfillment enabled, its URL) after each call that changes the agent: the
    # tests check no moment has the webhook on with an empty URL, and what training saw
    states: list[tuple[str, str, bool, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _operations: int = 0

    def _record(self, method: str, request) -> None:
        with self._lock:
            self.calls.append(Call(method, request))

    def _project(self, parent: str, context) -> str:
        parts = parent.split("/")
        if len(parts) != 2 or parts[0] != "projects" or not parts[1]:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"parent {parent!r} must be projects/<project>")
        if parts[1] not in self.projects:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no agent in project {parts[1]!r}")
        return parts[1]

    def _done(self, parent: str) -> operations_pb2.Operation:
        with self._lock:
            self._operations += 1
            number = self._operations
        response = any_pb2.Any()
        response.Pack(empty_pb2.Empty())
        return operations_pb2.Operation(name=f"{parent}/operations/{number}", done=True, response=response)

    # -- Agents ------------------------------------------------------------------------------------
    def restore_agent(self, request: types.RestoreAgentRequest, context):
        self._record("RestoreAgent", request)
        project = self._project(request.parent, context)
        content = request.agent_content
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as zf:
                names = set(zf.namelist())
                for required in ("package.json", "agent.json"):
                    if required not in names:
                        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"agent ZIP has no {required}")
                for name in names:
                    json.loads(zf.read(name))
        except (zipfile.BadZipFile, ValueError) as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"agent_content is not a readable agent ZIP: {e}")
        self.restored[project] = content
        # As Dialogflow does, a restore replaces the fulfillment with the ZIP's webhook block.
        webhook = json.loads(zipfile.ZipFile(io.BytesIO(content)).read("agent.json")).get("webhook") or {}
        self.fulfillments[project] = types.Fulfillment(
            name=f"{request.parent}/agent/fulfillment",
            enabled=bool(webhook.get("available")),
            generic_web_service=types.Fulfillment.GenericWebService(uri=webhook.get("url") or ""),
        )
        self._state("RestoreAgent", project)
        return self._done(request.parent)

    def _state(self, method: str, project: str) -> None:
        held = self.fulfillments.get(project)
        enabled = bool(held and held.enabled)
        self.states.append((method, project, enabled, held.generic_web_service.uri if held else ""))

    def train_agent(self, request: types.TrainAgentRequest, context):
        self._record("TrainAgent", request)
        project = self._project(request.parent, context)
        if project not in self.restored:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "nothing restored to train")
        self._state("TrainAgent", project)
        return self._done(request.parent)

    def get_agent(self, request: types.GetAgentRequest, context):
        self._record("GetAgent", request)
        project = self._project(request.parent, context)
        return types.Agent(parent=request.parent, display_name=project, default_language_code="en")

    # -- Fulfillments ------------------------------------------------------------------------------
    def _fulfillment_project(self, name: str, context) -> str:
        if not name.endswith("/agent/fulfillment"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"name {name!r} must be projects/<p>/agent/fulfillment")
        return self._project(name[: -len("/agent/fulfillment")], context)

    def update_fulfillment(self, request: types.UpdateFulfillmentRequest, context):
        self._record("UpdateFulfillment", request)
        project = self._fulfillment_project(request.fulfillment.name, context)
        if not request.update_mask.paths:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "update_mask is required")
        self.fulfillments[project] = request.fulfillment
        self._state("UpdateFulfillment", project)
        return request.fulfillment

    def get_fulfillment(self, request: types.GetFulfillmentRequest, context):
        self._record("GetFulfillment", request)
        project = self._fulfillment_project(request.name, context)
        return self.fulfillments.get(project) or types.Fulfillment(name=request.name)

    # -- Operations --------------------------------------------------------------------------------
    def get_operation(self, request: operations_pb2.GetOperationRequest, context):
        self._record("GetOperation", request)
        response = any_pb2.Any()
        response.Pack(empty_pb2.Empty())
        return operations_pb2.Operation(name=request.name, done=True, response=response)

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        def proto_plus(fn, request_type, response_type):
            return grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=request_type.deserialize, response_serializer=response_type.serialize
            )

        def operation(fn, request_type):
            return grpc.unary_unary_rpc_method_handler(
                fn,
                request_deserializer=request_type.deserialize,
                response_serializer=operations_pb2.Operation.SerializeToString,
            )

        return [
            grpc.method_handlers_generic_handler(
                "google.cloud.dialogflow.v2.Agents",
                {
                    "RestoreAgent": operation(self.restore_agent, types.RestoreAgentRequest),
                    "TrainAgent": operation(self.train_agent, types.TrainAgentRequest),
                    "GetAgent": proto_plus(self.get_agent, types.GetAgentRequest, types.Agent),
                },
            ),
            grpc.method_handlers_generic_handler(
                "google.cloud.dialogflow.v2.Fulfillments",
                {
                    "UpdateFulfillment": proto_plus(
                        self.update_fulfillment, types.UpdateFulfillmentRequest, types.Fulfillment
                    ),
                    "GetFulfillment": proto_plus(self.get_fulfillment, types.GetFulfillmentRequest, types.Fulfillment),
                },
            ),
            grpc.method_handlers_generic_handler(
                "google.longrunning.Operations",
                {
                    "GetOperation": grpc.unary_unary_rpc_method_handler(
                        self.get_operation,
                        request_deserializer=operations_pb2.GetOperationRequest.FromString,
                        response_serializer=operations_pb2.Operation.SerializeToString,
                    ),
                },
            ),
        ]

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]


class Serving:
    """The fake, served on 127.0.0.1 on a free port until ``stop``."""

    def __init__(self, fake: FakeDialogflow):
        self.fake = fake
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers(fake.handlers())
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.stop(grace=1).wait(5)
