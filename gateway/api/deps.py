"""Dependencies of the routes, as Annotated aliases (GatewayDep, PartyDep, WriterDep, ...)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Annotated

from eth_account.signers.local import LocalAccount
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledger import Role

from ..errors import InvalidInput, NotOwner, ReadOnlyParty, RoleRequired, Unauthenticated
from ..models import Party
from ..service import Gateway, Idempotency
from ..validation import IdempotencyKey, canonical_json

bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <api key>`")


def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


@dataclass
class Caller:
    """An authenticated party, its on-chain membership and roles (as the mirror reflects them)."""

    party: Party
    is_member: bool
    roles: set[Role] = field(default_factory=set)
    gateway: Gateway | None = None

    @property
    def address(self) -> str:
        return self.party.address

    @property
    def account(self) -> LocalAccount:
        return self.gateway.account_of(self.party)

    def need(self, role: Role) -> None:
        if role not in self.roles:
            raise RoleRequired(f"this needs the {role.name} role", role=role.name, account=self.address)

    def must_be(self, address: str, what: str, **args) -> None:
        if address.lower() != self.address.lower():
            raise NotOwner(f"only the {what} can do this", account=self.address, **args)


def get_party(gateway: GatewayDep, credentials: Credentials) -> Caller:
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("send Authorization: Bearer <api key>")
    party = gateway.party_by_api_key(credentials.credentials)
    if party is None:
        raise Unauthenticated("unknown API key")
    is_member, roles = gateway.roles_of(party.address)
    return Caller(party, is_member, roles, gateway)


PartyDep = Annotated[Caller, Depends(get_party)]


def get_reader(gateway: GatewayDep, credentials: Credentials) -> Caller:
    """Who reads: a party by its API key, or the operator by its bootstrap credential (the operator
    reads everything, see api/visibility.py)."""
    token = gateway.settings.operator_token.get_secret_value()
    if credentials is not None and hmac.compare_digest(credentials.credentials.encode(), token.encode()):
        party = gateway.operator_party
        is_member, roles = gateway.roles_of(party.address)
        return Caller(party, is_member, roles | {Role.OPERATOR}, gateway)
    return get_party(gateway, credentials)


ReaderDep = Annotated[Caller, Depends(get_reader)]


def get_writer(caller: PartyDep) -> Caller:
    """A party that may change something: a member with a role beyond AUDITOR."""
    if not caller.is_member:
        raise RoleRequired("the party is not a member (expelled?)", account=caller.address)
    if not (caller.roles - {Role.MEMBER, Role.AUDITOR}):
        raise ReadOnlyParty("an auditor can only read", account=caller.address)
    return caller


WriterDep = Annotated[Caller, Depends(get_writer)]


def get_operator(gateway: GatewayDep, credentials: Credentials) -> None:
    token = gateway.settings.operator_token.get_secret_value()
    if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
        raise Unauthenticated("this needs the operator's bootstrap credential")


OperatorDep = Annotated[None, Depends(get_operator)]


async def get_idempotency(
    request: Request,
    idempotency_key: Annotated[IdempotencyKey | None, Header(
        description="Retrying a write with the same key returns the first result; nothing is sent twice. "
                    "The same key with another request (method, path or JSON body; key order and "
                    "spacing do not matter) is 422.")] = None,
) -> Idempotency | None:
    if idempotency_key is None:
        return None
    if not idempotency_key.strip():
        raise InvalidInput("Idempotency-Key must not be empty")
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.url.path.encode() + b"\n")
    # The body as canonical JSON: the same request with its keys in another order is the same.
    digest.update(canonical_json(await request.body()))
    return Idempotency(idempotency_key, digest.hexdigest())


IdempotencyDep = Annotated[Idempotency | None, Depends(get_idempotency)]
