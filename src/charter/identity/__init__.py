"""Governed identities: agents, the humans who own and govern them, their credentials."""

from charter.identity.agents import Agent, AgentStatus, RiskTier
from charter.identity.credentials import Credential, PrincipalKind
from charter.identity.humans import Human, HumanRole
from charter.identity.principals import Principal

__all__ = [
    "Agent",
    "AgentStatus",
    "Credential",
    "Human",
    "HumanRole",
    "Principal",
    "PrincipalKind",
    "RiskTier",
]
