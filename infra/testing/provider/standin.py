"""A stand-in Terraform provider: serves a provider's schema, kept in the repository as data, to real
Terraform so that `terraform validate` and `terraform plan` check infra/ with no network.

    python infra/testing/provider/standin.py --schema infra/testing/schema/google-7.45.0.json

Terraform starts it as a plugin (go-plugin): the magic cookie in the environment, a handshake line on
stdout ``1|6|tcp|127.0.0.1:PORT|grpc|<certificate>``, then gRPC over mutual TLS (go-plugin's AutoMTLS:
Terraform puts its client certificate in PLUGIN_CLIENT_CERT; this process makes its own
self-signed certificate, requires Terraform's, and prints its own in the handshake). It speaks
protocol 6 (tfplugin6.proto beside this file):

- GetProviderSchema answers the schema file, so Terraform itself checks every argument, block,
  type and reference of the configuration against the real provider's schema;
- ValidateResourceConfig also checks the enumerations the provider validates (``tier`` and so on);
- PlanResourceChange plans creation as the provider would, leaving computed values unknown;
- nothing is ever applied: ApplyResourceChange is not offered, so there is never a state to
  upgrade or refresh (UpgradeResourceState and ReadResource are not offered either).

Never deployed and never used against real projects: tests/test_terraform_offline.py and
infra/testing/offline.py run it.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import importlib
import json
import os
import shutil
import socket
import ssl
import sys
import tempfile
import threading
from concurrent import futures
from pathlib import Path

import grpc
import msgpack
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = Path(__file__).resolve().parent
PROTO = HERE / "tfplugin6.proto"
MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"


def load_protocol():
    """The tfplugin6 message classes, compiled from tfplugin6.proto once per proto content."""
    digest = hashlib.sha256(PROTO.read_bytes()).hexdigest()[:16]
    out = Path(os.environ.get("TOWNHALL_STANDIN_CACHE", tempfile.gettempdir())) / f"townhall-tfplugin6-{digest}"
    if not (out / "tfplugin6_pb2.py").is_file():
        from grpc_tools import protoc

        work = Path(tempfile.mkdtemp(prefix="tfplugin6-", dir=out.parent))
        code = protoc.main(["protoc", f"-I{HERE}", f"--python_out={work}", str(PROTO)])
        if code != 0:
            raise SystemExit(f"standin: protoc could not compile {PROTO}")
        try:
            work.rename(out)
        except OSError:  # another provider process compiled it first
            shutil.rmtree(work, ignore_errors=True)
    sys.path.insert(0, str(out))
    return importlib.import_module("tfplugin6_pb2")


pb = load_protocol()


class Unknown:
    """A value Terraform does not know yet (cty's unknown: msgpack extension 0, or 12 refined)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()


def decode(dynamic) -> object:
    if dynamic.msgpack:
        return msgpack.unpackb(dynamic.msgpack, raw=False, strict_map_key=False, ext_hook=lambda code, data: UNKNOWN)
    if dynamic.json:
        return json.loads(dynamic.json)
    return None


def encode(value) -> object:
    def default(obj):
        if obj is UNKNOWN:
            return msgpack.ExtType(0, b"")
        raise TypeError(f"cannot encode {obj!r}")

    return pb.DynamicValue(msgpack=msgpack.packb(value, default=default, use_bin_type=True))


# -- schema ------------------------------------------------------------------------------------------

NESTING = {"single": 1, "list": 2, "set": 3, "map": 4, "group": 5}


def block_message(block: dict, version: int = 0):
    message = pb.Schema.Block(version=version)
    for name, attr in sorted(block.get("attributes", {}).items()):
        message.attributes.append(
            pb.Schema.Attribute(
                name=name,
                type=json.dumps(attr["type"]).encode(),
                required=attr.get("required", False),
                optional=attr.get("optional", False),
                computed=attr.get("computed", False),
                sensitive=attr.get("sensitive", False),
                deprecated=attr.get("deprecated", False),
                write_only=attr.get("write_only", False),
            )
        )
    for name, nested in sorted(block.get("block_types", {}).items()):
        message.block_types.append(
            pb.Schema.NestedBlock(
                type_name=name,
                block=block_message(nested["block"]),
                nesting=NESTING[nested["nesting_mode"]],
                min_items=nested.get("min_items", 0),
                max_items=nested.get("max_items", 0),
            )
        )
    return message


def schema_message(schema: dict):
    return pb.Schema(version=schema.get("version", 0), block=block_message(schema["block"], schema.get("version", 0)))


# -- planning and validation --------------------------------------------------------------------------


def plan_object(block: dict, proposed, config):
    """The planned new value of an object: computed attributes nobody set become unknown."""
    if proposed is None or proposed is UNKNOWN:
        return proposed
    out = dict(proposed)
    for name, attr in block.get("attributes", {}).items():
        configured = None if not isinstance(config, dict) else config.get(name)
        if attr.get("computed") and out.get(name) is None and configured is None:
            out[name] = UNKNOWN
    for name, nested in block.get("block_types", {}).items():
        value = out.get(name)
        configured = None if not isinstance(config, dict) else config.get(name)
        mode = nested["nesting_mode"]
        if value is None or value is UNKNOWN:
            continue
        if mode in ("single", "group"):
            out[name] = plan_object(nested["block"], value, configured)
        elif mode == "list":
            out[name] = [
                plan_object(
                    nested["block"],
                    item,
                    configured[i] if isinstance(configured, list) and i < len(configured) else None,
                )
                for i, item in enumerate(value)
            ]
        elif mode == "set":
            out[name] = [plan_object(nested["block"], item, item) for item in value]
        elif mode == "map":
            out[name] = {k: plan_object(nested["block"], v, (configured or {}).get(k)) for k, v in value.items()}
    return out


def enum_problems(block: dict, value, path: list) -> list:
    """(path, message) for each string outside an attribute's enumeration, as the provider's
    ValidateFunc (verify.ValidateEnum) would report it."""
    problems = []
    if not isinstance(value, dict):
        return problems
    for name, attr in block.get("attributes", {}).items():
        given = value.get(name)
        if attr.get("enum") and isinstance(given, str) and given not in attr["enum"]:
            allowed = [v for v in attr["enum"] if v]
            problems.append((path + [name], f"expected {name} to be one of {json.dumps(allowed)}, got {given}"))
    for name, nested in block.get("block_types", {}).items():
        given = value.get(name)
        items = (
            given
            if isinstance(given, list)
            else list(given.values())
            if isinstance(given, dict) and nested["nesting_mode"] == "map"
            else [given]
        )
        for i, item in enumerate(items):
            problems += enum_problems(nested["block"], item, path + [name, i])
    return problems


def attribute_path(steps: list):
    path = pb.AttributePath()
    for step in steps:
        if isinstance(step, int):
            path.steps.append(pb.AttributePath.Step(element_key_int=step))
        else:
            path.steps.append(pb.AttributePath.Step(attribute_name=step))
    return path


def error(summary: str, detail: str = "", steps: list | None = None):
    diagnostic = pb.Diagnostic(severity=pb.Diagnostic.ERROR, summary=summary, detail=detail)
    if steps:
        diagnostic.attribute.CopyFrom(attribute_path(steps))
    return diagnostic


class Provider:
    def __init__(self, document: dict):
        (self.address, schemas), *_ = document["provider_schemas"].items()
        self.provider = schemas["provider"]
        self.resources = schemas["resource_schemas"]
        self.data_sources = schemas.get("data_source_schemas", {})
        self.stopped = threading.Event()

    def _unknown_type(self, kind: str, name: str, known: dict):
        return error(
            f"{self.address} stand-in has no schema for {kind} {name!r}",
            "infra/testing/extract_schema.py lists the types it extracts: add this one there and re-extract the "
            f"schema ({', '.join(sorted(known)[:3])}, ... are known).",
        )

    def GetMetadata(self, request, context):
        return pb.GetMetadata.Response(
            resources=[pb.GetMetadata.ResourceMetadata(type_name=n) for n in sorted(self.resources)],
            data_sources=[pb.GetMetadata.DataSourceMetadata(type_name=n) for n in sorted(self.data_sources)],
        )

    def GetProviderSchema(self, request, context):
        response = pb.GetProviderSchema.Response(provider=schema_message(self.provider))
        for name, schema in self.resources.items():
            response.resource_schemas[name].CopyFrom(schema_message(schema))
        for name, schema in self.data_sources.items():
            response.data_source_schemas[name].CopyFrom(schema_message(schema))
        return response

    def ValidateProviderConfig(self, request, context):
        return pb.ValidateProviderConfig.Response()

    def ValidateResourceConfig(self, request, context):
        schema = self.resources.get(request.type_name)
        if schema is None:
            return pb.ValidateResourceConfig.Response(
                diagnostics=[self._unknown_type("resource", request.type_name, self.resources)]
            )
        config = decode(request.config)
        return pb.ValidateResourceConfig.Response(
            diagnostics=[
                error("Invalid value", message, steps) for steps, message in enum_problems(schema["block"], config, [])
            ]
        )

    def ValidateDataResourceConfig(self, request, context):
        if request.type_name not in self.data_sources:
            return pb.ValidateDataResourceConfig.Response(
                diagnostics=[self._unknown_type("data source", request.type_name, self.data_sources)]
            )
        return pb.ValidateDataResourceConfig.Response()

    def ConfigureProvider(self, request, context):
        return pb.ConfigureProvider.Response()

    def PlanResourceChange(self, request, context):
        schema = self.resources[request.type_name]
        proposed = decode(request.proposed_new_state)
        config = decode(request.config)
        planned = plan_object(schema["block"], proposed, config)
        return pb.PlanResourceChange.Response(
            planned_state=encode(planned),
            planned_private=request.prior_private,
            legacy_type_system=self.address.endswith("/google"),
        )

    def ReadDataSource(self, request, context):
        return pb.ReadDataSource.Response(
            diagnostics=[error("The offline stand-in provider cannot read data sources", "plan without data sources")]
        )

    def GetFunctions(self, request, context):
        return pb.GetFunctions.Response()

    def StopProvider(self, request, context):
        return pb.StopProvider.Response()


METHODS = [
    "GetMetadata",
    "GetProviderSchema",
    "ValidateProviderConfig",
    "ValidateResourceConfig",
    "ValidateDataResourceConfig",
    "ConfigureProvider",
    "PlanResourceChange",
    "ReadDataSource",
    "GetFunctions",
    "StopProvider",
]


def certificate():
    """(key PEM, certificate PEM, certificate DER): self-signed for localhost, as go-plugin makes them."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(hours=12))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM), cert.public_bytes(serialization.Encoding.DER)


def tls_front(backend: int, client_cert: str, done: threading.Event) -> tuple[int, str]:
    """Mutual TLS in front of the gRPC server, with Python's ssl module: Terraform's client
    certificate is the only one accepted, and ours is printed in the handshake. (gRPC's own TLS,
    BoringSSL, does not offer the P-521 signatures of go-plugin's client certificates, so Terraform
    would send none.) Each connection is relayed to the gRPC server on a loopback port."""
    key_pem, cert_pem, cert_der = certificate()
    folder = Path(tempfile.mkdtemp(prefix="standin-tls-"))
    (folder / "key.pem").write_bytes(key_pem)
    (folder / "cert.pem").write_bytes(cert_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    shutil.rmtree(folder, ignore_errors=True)
    context.load_verify_locations(cadata=client_cert)
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    listener = socket.create_server(("127.0.0.1", 0))

    def pump(source, target):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def relay(raw):
        try:
            tls = context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            print(f"standin: TLS handshake refused: {e}", file=sys.stderr)
            raw.close()
            return
        inner = socket.create_connection(("127.0.0.1", backend))
        threading.Thread(target=pump, args=(inner, tls), daemon=True).start()
        pump(tls, inner)

    def accept():
        while not done.is_set():
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=relay, args=(raw,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1], base64.b64encode(cert_der).decode().rstrip("=")


def serve(schema_path: Path) -> int:
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE:
        print(
            "This is a Terraform plugin (the offline stand-in provider): Terraform starts it. "
            "Run infra/testing/offline.py instead.",
            file=sys.stderr,
        )
        return 1
    provider = Provider(json.loads(schema_path.read_text(encoding="utf-8")))
    handlers = {}
    for name in METHODS:
        request_type = getattr(pb, name).Request
        handlers[name] = grpc.unary_unary_rpc_method_handler(
            getattr(provider, name),
            request_deserializer=request_type.FromString,
            response_serializer=lambda message: message.SerializeToString(),
        )
    done = threading.Event()

    def shutdown(request, context):  # go-plugin's GRPCController.Shutdown: Terraform is finished with us
        done.set()
        return b""

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler("tfplugin6.Provider", handlers),
            grpc.method_handlers_generic_handler(
                "plugin.GRPCController",
                {"Shutdown": grpc.unary_unary_rpc_method_handler(shutdown, lambda b: b, lambda b: b)},
            ),
        ]
    )
    backend = server.add_insecure_port("127.0.0.1:0")
    client_cert = os.environ.get("PLUGIN_CLIENT_CERT")
    if client_cert:
        port, shown = tls_front(backend, client_cert, done)
    else:  # TF_DISABLE_PLUGIN_TLS: plain gRPC, as go-plugin allows
        port, shown = backend, ""
    server.start()
    sys.stdout.write(f"1|6|tcp|127.0.0.1:{port}|grpc|{shown}\n")
    sys.stdout.flush()
    done.wait(timeout=float(os.environ.get("TOWNHALL_STANDIN_LIFETIME", "600")))
    server.stop(grace=0.5)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Offline stand-in Terraform provider (plugin protocol 6).")
    parser.add_argument("--schema", type=Path, required=True, help="provider schema JSON (infra/testing/schema/)")
    args = parser.parse_args(argv)
    return serve(args.schema)


if __name__ == "__main__":
    sys.exit(main())
