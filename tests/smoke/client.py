"""A Python grpcio client against a running `dealernet dev`: stubs generated from proto/,
rich error details read from the grpc-status-details-bin trailer.

Usage: client.py ADDR HQ_TOKEN DEALER_TOKEN PROTO_DIR
"""

import importlib
import os
import sys
import tempfile
import uuid

import grpc
from grpc_status import rpc_status
from grpc_tools import protoc
from google.rpc import error_details_pb2


def generate_stubs(proto_dir: str) -> str:
    out = tempfile.mkdtemp()
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    files = [
        os.path.join(dp, f)
        for dp, _, fs in os.walk(proto_dir)
        for f in fs
        if f.endswith(".proto")
    ]
    args = ["protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *files]
    if protoc.main(args) != 0:
        sys.exit("client.py: protoc failed")
    return out


def details(err: grpc.RpcError):
    status = rpc_status.from_call(err)
    info, violations = None, []
    for any_ in status.details:
        if any_.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            any_.Unpack(info)
        elif any_.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            any_.Unpack(bad)
            violations = [v.field for v in bad.field_violations]
    return info, violations


def main() -> None:
    addr, hq_token, dealer_token, proto_dir = sys.argv[1:5]
    sys.path.insert(0, generate_stubs(proto_dir))
    pb = importlib.import_module("dealernet.customers.v1.customers_pb2")
    rpc = importlib.import_module("dealernet.customers.v1.customer_service_pb2_grpc")
    channel = grpc.insecure_channel(addr)
    stub = rpc.CustomerServiceStub(channel)
    as_dealer = [("authorization", f"Bearer {dealer_token}")]
    as_hq = [("authorization", f"Bearer {hq_token}"), ("x-purpose", "smoke test")]

    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    candidate = pb.Customer(
        kind=pb.CUSTOMER_KIND_PERSON,
        person_name=pb.PersonName(family_name="测", given_name="试"),
        phones=[pb.Phone(number=phone)],
        source_channel=pb.SOURCE_CHANNEL_DEALER_POS,
    )
    request_id = f"smoke-{uuid.uuid4()}"
    first = stub.ResolveCustomer(pb.ResolveCustomerRequest(customer=candidate, request_id=request_id), metadata=as_dealer)
    assert first.created, first
    again = stub.ResolveCustomer(pb.ResolveCustomerRequest(customer=candidate, request_id=request_id), metadata=as_dealer)
    assert again == first, "a retry must replay the first answer"
    got = stub.GetCustomer(pb.GetCustomerRequest(name=first.customer.name), metadata=as_hq)
    assert got.customer.phones[0].number == "+86" + phone, got

    bad = pb.Customer(kind=pb.CUSTOMER_KIND_PERSON, phones=[pb.Phone(number="12")], source_channel=pb.SOURCE_CHANNEL_WEB)
    try:
        stub.CreateCustomer(pb.CreateCustomerRequest(customer=bad), metadata=as_hq)
        sys.exit("client.py: invalid customer was accepted")
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err
        info, violations = details(err)
        assert info is not None and info.reason == "INVALID_ARGUMENT", info
        assert sorted(violations) == ["customer.person_name", "customer.phones[0].number"], violations

    try:
        stub.GetCustomer(pb.GetCustomerRequest(name=first.customer.name))
        sys.exit("client.py: a call without a token was accepted")
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED, err

    print("smoke: python grpcio client: resolve, replay, get, error details and auth all as expected")


if __name__ == "__main__":
    main()
