"""The tables of API keys and refresh-token families; digests only, never a secret.

Times are seconds since the epoch in ``FloatField`` columns, exactly as
:class:`~backendkit.apikeys.KeyRecord` and the refresh family hold them: no
time-zone conversion stands between the store and the checks (with ``USE_TZ =
False`` on PostgreSQL a naive time in a daylight-saving gap would move by an
hour, and a revocation with it). The admin shows them as dates.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from backendkit.apikeys import KeyRecord
from backendkit.auth._core.refresh import Family, RefreshPolicy

ID_LENGTH = 64  # a key id or a family id (the formats make 8 to 32 characters)
DIGEST_LENGTH = 128  # a hex SHA-256 or HMAC-SHA-256 is 64


class APIKey(models.Model):
    """One API key: what :class:`~backendkit.apikeys.KeyRecord` holds, a row per key."""

    id: models.CharField[str, str] = models.CharField("key id", primary_key=True, max_length=ID_LENGTH, editable=False)
    digest: models.CharField[str, str] = models.CharField("digest", max_length=DIGEST_LENGTH, editable=False)
    owner: models.CharField[str, str] = models.CharField(
        "owner", max_length=255, db_index=True, help_text="The subject of the principal the key authenticates."
    )
    name: models.CharField[str, str] = models.CharField(
        "name", max_length=200, blank=True, help_text='A label for people ("CI deploys").'
    )
    roles: models.JSONField[Any, Any] = models.JSONField("roles", default=list, blank=True)
    scopes: models.JSONField[Any, Any] = models.JSONField("scopes", default=list, blank=True)
    created_at: models.FloatField[float, float] = models.FloatField("created at", help_text="Seconds since the epoch.")
    expires_at: models.FloatField[float | None, float | None] = models.FloatField("expires at", null=True, blank=True)
    last_used_at: models.FloatField[float | None, float | None] = models.FloatField(
        "last used at", null=True, blank=True
    )
    revoked_at: models.FloatField[float | None, float | None] = models.FloatField("revoked at", null=True, blank=True)
    rotated_to: models.CharField[str | None, str | None] = models.CharField(
        "rotated to", max_length=ID_LENGTH, null=True, blank=True
    )
    prefix: models.CharField[str, str] = models.CharField("prefix", max_length=32, blank=True)

    class Meta:
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def __str__(self) -> str:  # never the digest
        return f"{self.id} ({self.name})" if self.name else str(self.id)

    def to_record(self) -> KeyRecord:
        """The row as a :class:`~backendkit.apikeys.KeyRecord`."""
        return KeyRecord(
            id=self.id,
            digest=self.digest,
            owner=self.owner,
            name=self.name,
            roles=tuple(self.roles or ()),
            scopes=tuple(self.scopes or ()),
            created_at=self.created_at,
            expires_at=self.expires_at,
            last_used_at=self.last_used_at,
            revoked_at=self.revoked_at,
            rotated_to=self.rotated_to,
            prefix=self.prefix,
        )

    @classmethod
    def from_record(cls, record: KeyRecord) -> APIKey:
        """A row (not saved) holding ``record``."""
        return cls(**record.to_dict())


class RefreshFamily(models.Model):
    """One login's refresh tokens: the state of a :class:`~backendkit.auth._core.refresh.Family`, digests only."""

    id: models.CharField[str, str] = models.CharField(
        "family id", primary_key=True, max_length=ID_LENGTH, editable=False
    )
    subject: models.CharField[str, str] = models.CharField("subject", max_length=255, db_index=True)
    claims: models.JSONField[Any, Any] = models.JSONField("claims", default=dict, blank=True)
    created_at: models.FloatField[float, float] = models.FloatField(
        "created at", help_text="Seconds since the epoch (the login)."
    )
    last_used_at: models.FloatField[float, float] = models.FloatField("last used at")
    generation: models.PositiveIntegerField[int, int] = models.PositiveIntegerField("rotations", default=0)
    current: models.CharField[str, str] = models.CharField("live token's digest", max_length=DIGEST_LENGTH)
    previous: models.CharField[str | None, str | None] = models.CharField(
        "digest of the token spent last", max_length=DIGEST_LENGTH, null=True, blank=True
    )
    spent_at: models.FloatField[float | None, float | None] = models.FloatField("spent at", null=True, blank=True)
    sealed: models.TextField[str | None, str | None] = models.TextField("sealed retry answer", null=True, blank=True)
    access: models.JSONField[Any, Any] = models.JSONField("live access tokens", default=list, blank=True)
    revoked_at: models.FloatField[float | None, float | None] = models.FloatField("revoked at", null=True, blank=True)
    ends_at: models.FloatField[float, float] = models.FloatField(
        "ends at", db_index=True, help_text="When the family ends unless used again; ended families are deleted."
    )

    class Meta:
        verbose_name = "refresh-token family"
        verbose_name_plural = "refresh-token families"

    def __str__(self) -> str:
        return f"{self.id} ({self.subject})"

    def to_family(self) -> Family:
        """The row as a :class:`~backendkit.auth._core.refresh.Family`."""
        return Family.from_dict(self.state())

    def state(self) -> dict[str, Any]:
        """The family's fields, in ``Family.to_dict``'s shape."""
        return {name: getattr(self, name) for name in _FAMILY_FIELDS}

    @staticmethod
    def columns(family: Family, policy: RefreshPolicy) -> dict[str, Any]:
        """The column values that hold ``family`` (its ``ends_at`` under ``policy``)."""
        return {**family.to_dict(), "ends_at": family.ends_at(policy)}


_FAMILY_FIELDS = tuple(Family("-", "-").to_dict())


class SpentRefreshToken(models.Model):
    """The digest of a refresh token used once: presented again, it is a reuse (its family is revoked)."""

    digest: models.CharField[str, str] = models.CharField(
        "digest", primary_key=True, max_length=DIGEST_LENGTH, editable=False
    )
    family: models.ForeignKey[RefreshFamily, RefreshFamily] = models.ForeignKey(
        RefreshFamily, on_delete=models.CASCADE, related_name="spent_tokens", verbose_name="family"
    )

    family_id: str

    class Meta:
        verbose_name = "spent refresh token"
        verbose_name_plural = "spent refresh tokens"

    def __str__(self) -> str:  # the digest is what the row is; still, a prefix is enough to tell rows apart
        return f"{self.digest[:12]}… of {self.family_id}"


__all__ = ["APIKey", "RefreshFamily", "SpentRefreshToken"]
