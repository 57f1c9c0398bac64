"""A gRPC-Web client (sonora, over HTTP/1.1 as a browser sends it) against the gateway:
stubs generated from proto/, a call that succeeds, a refusal read from the trailers, and
the CORS preflight a browser console makes first.

Usage: grpc_web.py URL TOKEN ALLOWED_ORIGIN PROTO_DIR
Needs: pip install sonora grpcio grpcio-tools
"""

import importlib
import os
import sys

import grpc
import sonora.client
import urllib3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client import generate_stubs  # noqa: E402


class Channel:
    """sonora's channel for stubs of current grpcio-tools, which pass `_registered_method`
    (and other keywords) that sonora 0.2 does not know."""

    def __init__(self, inner):
        self.inner = inner

    def unary_unary(self, path, request_serializer=None, response_deserializer=None, **_):
        return self.inner.unary_unary(path, request_serializer, response_deserializer)

    def unary_stream(self, path, request_serializer=None, response_deserializer=None, **_):
        return self.inner.unary_stream(path, request_serializer, response_deserializer)

    def stream_unary(self, path, request_serializer=None, response_deserializer=None, **_):
        return self.inner.stream_unary(path, request_serializer, response_deserializer)

    def stream_stream(self, path, request_serializer=None, response_deserializer=None, **_):
        return self.inner.stream_stream(path, request_serializer, response_deserializer)


def main() -> None:
    url, token, origin, proto_dir = sys.argv[1:5]
    sys.path.insert(0, generate_stubs(proto_dir))
    pb = importlib.import_module("dealernet.dealers.v1.outlets_pb2")
    rpc = importlib.import_module("dealernet.dealers.v1.dealer_service_pb2_grpc")

    with sonora.client.insecure_web_channel(url) as web:
        stub = rpc.DealerServiceStub(Channel(web))
        answer = stub.ListOutlets(
            pb.ListOutletsRequest(page_size=10),
            metadata=[("authorization", f"Bearer {token}")],
        )
        codes = sorted(o.code for o in answer.outlets)
        assert "D1001" in codes, codes
        try:
            stub.ListOutlets(pb.ListOutletsRequest())
            sys.exit("grpc_web.py: a call without a token was accepted")
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.UNAUTHENTICATED, err

    http = urllib3.PoolManager()
    path = url.rstrip("/") + "/dealernet.dealers.v1.DealerService/ListOutlets"
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-grpc-web",
    }
    allowed = http.request("OPTIONS", path, headers={"Origin": origin, **preflight})
    assert allowed.headers.get("access-control-allow-origin") == origin, dict(allowed.headers)
    other = http.request("OPTIONS", path, headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers, dict(other.headers)
    print(f"grpc-web: {len(codes)} outlets listed, refusal read, CORS allows {origin} only")


if __name__ == "__main__":
    main()
