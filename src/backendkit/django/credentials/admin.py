"""The admin of API keys and refresh-token families: the secret of a key is shown once, the digest never.

Adding a key asks for its owner, name, roles, scopes and lifetime, makes it with
:meth:`APIKeys.create <backendkit.apikeys.APIKeys.create>` (the manager of
``BACKENDKIT_API_KEYS``) and shows it in the message after "Save", once: only its
digest is stored, and no page shows that. A key's change page edits its name alone
(one column written, so a revocation made meanwhile stands); the actions revoke and
rotate (each new key shown once, the old one working for ``DEFAULT_GRACE`` more).

Families are read-only; their action revokes them (through ``BACKENDKIT_TOKEN_ISSUER``
when set, so their access tokens are revoked too).
"""

from __future__ import annotations

import time
from typing import Any

from asgiref.sync import async_to_sync
from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_value
from django.contrib.auth import get_permission_codename
from django.db.models import Model, Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html

from backendkit.apikeys import DEFAULT_GRACE, KeyRecord
from backendkit.auth import RefreshPolicy
from backendkit.django.credentials._config import get_api_keys, get_token_issuer
from backendkit.django.credentials._display import key_status, when
from backendkit.django.credentials.models import APIKey, RefreshFamily
from backendkit.django.credentials.stores import DjangoRefreshStore
from backendkit.errors import ServiceUnavailable
from backendkit.stores import StoreUnavailable


def _shown(seconds: float | None) -> str:
    """Seconds since the epoch as the admin shows a date, in the current time zone (``-`` for none)."""
    return str(display_for_value(when(seconds), "-"))


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


class NewKeyForm(forms.ModelForm):  # type: ignore[type-arg]
    """What a new key is made from; the key itself is made by ``APIKeys.create``."""

    roles = forms.CharField(required=False, help_text="Role names, separated by commas.")
    scopes = forms.CharField(required=False, help_text="Scopes, separated by commas.")
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, label="Expires in (days)", help_text="Leave empty for a key that never expires."
    )

    class Meta:
        model = APIKey
        fields = ("owner", "name")

    def clean_roles(self) -> list[str]:
        return _names(self.cleaned_data.get("roles") or "")

    def clean_scopes(self) -> list[str]:
        return _names(self.cleaned_data.get("scopes") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:  # the record's own rules: names without spaces or commas, a name of 200 characters at most
            KeyRecord(
                id="new",
                digest="",
                owner=data.get("owner") or "-",
                name=data.get("name") or "",
                roles=data.get("roles") or (),
                scopes=data.get("scopes") or (),
            )
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


_NEW_KEY_FIELDS = ("owner", "name", "roles", "scopes", "expires_in_days")
_KEY_FIELDS = (
    "id",
    "owner",
    "name",
    "prefix",
    "role_list",
    "scope_list",
    "created",
    "expires",
    "last_used",
    "revoked",
    "rotated_to",
    "status",
)


def _only(queryset: QuerySet[Any], condition: Q | None) -> QuerySet[Any]:
    chosen: QuerySet[Any] = queryset if condition is None else queryset.filter(condition)
    return chosen


class KeyStatusFilter(admin.SimpleListFilter):
    """Keys by what they do now: active, rotated (in their grace period), expired, revoked."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "active"), ("rotated", "rotated"), ("expired", "expired"), ("revoked", "revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = time.time()
        running = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        unrevoked = Q(revoked_at__isnull=True)
        conditions = {
            "revoked": Q(revoked_at__isnull=False),
            "expired": unrevoked & Q(expires_at__lte=now),
            "rotated": unrevoked & running & Q(rotated_to__isnull=False),
            "active": unrevoked & running & Q(rotated_to__isnull=True),
        }
        return _only(queryset, conditions.get(self.value() or ""))


class APIKeyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """API keys: made here with the secret shown once; revoked and rotated by the actions."""

    list_display = (
        "id",
        "owner",
        "name",
        "prefix",
        "role_list",
        "scope_list",
        "created",
        "expires",
        "last_used",
        "status",
    )
    search_fields = ("id", "owner", "name")
    list_filter = (KeyStatusFilter, "prefix")
    ordering = ("-created_at",)
    actions = ("revoke", "rotate")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = NewKeyForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [(None, {"fields": _NEW_KEY_FIELDS if obj is None else _KEY_FIELDS})]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else tuple(name for name in _KEY_FIELDS if name != "name")

    def save_model(self, request: HttpRequest, obj: APIKey, form: ModelForm[Any], change: bool) -> None:
        if change:  # the name alone: never the whole row read before (a revocation made meanwhile stands)
            APIKey.objects.using(obj._state.db).filter(pk=obj.pk).update(name=obj.name)
            return
        keys = get_api_keys()
        days = form.cleaned_data.get("expires_in_days")
        made = keys.create(
            obj.owner,
            name=obj.name,
            roles=form.cleaned_data["roles"],
            scopes=form.cleaned_data["scopes"],
            expires_in=None if days is None else days * 86_400.0,
        )
        for name, value in made.record.to_dict().items():  # the row the manager wrote, for the log and redirect
            setattr(obj, name, value)
        obj._state.adding, obj._state.db = False, keys.store.alias  # type: ignore[attr-defined]
        self.message_user(
            request,
            format_html("The new API key, shown this once (copy it now): <code>{}</code>", made.key),
            messages.SUCCESS,
        )

    @admin.action(description="Revoke the selected API keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        keys = get_api_keys()
        try:
            revoked = [key_id for key_id in queryset.values_list("pk", flat=True) if keys.revoke(key_id)]
        except StoreUnavailable as exc:
            self.message_user(request, f"The keys were not revoked: {exc}", messages.ERROR)
            return
        self.message_user(request, f"Revoked {len(revoked)} API key(s): {', '.join(revoked)}.", messages.SUCCESS)

    @admin.action(description="Rotate the selected API keys (each new key is shown once)", permissions=["change"])
    def rotate(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        keys = get_api_keys()
        for key_id in queryset.values_list("pk", flat=True):
            try:
                made = keys.rotate(key_id, grace=DEFAULT_GRACE)
            except KeyError:
                self.message_user(request, f"{key_id} was not rotated: it is gone.", messages.WARNING)
                continue
            except (ValueError, StoreUnavailable) as exc:
                self.message_user(request, f"{key_id} was not rotated: {exc}", messages.WARNING)
                continue
            self.message_user(
                request,
                format_html(
                    "{} is replaced by {} and works {} hours more. The new key, shown this once: <code>{}</code>",
                    key_id,
                    made.record.id,
                    f"{DEFAULT_GRACE / 3600:g}",
                    made.key,
                ),
                messages.SUCCESS,
            )

    @admin.display(description="roles")
    def role_list(self, obj: APIKey) -> str:
        return ", ".join(obj.roles or ())

    @admin.display(description="scopes")
    def scope_list(self, obj: APIKey) -> str:
        return ", ".join(obj.scopes or ())

    @admin.display(description="created", ordering="created_at")
    def created(self, obj: APIKey) -> str:
        return _shown(obj.created_at)

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, obj: APIKey) -> str:
        return _shown(obj.expires_at)

    @admin.display(description="last used", ordering="last_used_at")
    def last_used(self, obj: APIKey) -> str:
        return _shown(obj.last_used_at)

    @admin.display(description="revoked", ordering="revoked_at")
    def revoked(self, obj: APIKey) -> str:
        return _shown(obj.revoked_at)

    @admin.display(description="status")
    def status(self, obj: APIKey) -> str:
        return key_status(obj.to_record(), time.time())


class FamilyStatusFilter(admin.SimpleListFilter):
    """Families that can still refresh, the revoked ones, and those past their end."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "live"), ("revoked", "revoked"), ("ended", "ended")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = time.time()
        conditions = {
            "revoked": Q(revoked_at__isnull=False),
            "ended": Q(revoked_at__isnull=True, ends_at__lte=now),
            "live": Q(revoked_at__isnull=True, ends_at__gt=now),
        }
        return _only(queryset, conditions.get(self.value() or ""))


_FAMILY_FIELDS = ("id", "subject", "claims", "created", "last_used", "generation", "live_access", "ends", "revoked")


class RefreshFamilyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Refresh-token families, read-only (no digest shown); the action revokes them (a logout)."""

    list_display = ("id", "subject", "created", "last_used", "generation", "live_access", "ends", "status")
    search_fields = ("=id", "subject")
    list_filter = (FamilyStatusFilter,)
    ordering = ("-created_at",)
    fields = (*_FAMILY_FIELDS, "status")
    readonly_fields = fields
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # written by the token issuer alone

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # a deleted family forgets its spent tokens: revoke it instead

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        """The revoke action needs the permission to change families."""
        opts = self.opts
        user: Any = request.user
        return bool(user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}"))

    @admin.action(description="Revoke the selected families (log out)", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[RefreshFamily]) -> None:
        issuer = get_token_issuer()
        store = DjangoRefreshStore(using=queryset.db)
        now = time.time()
        # Through alogout: it awaits an async revocation list (AsyncRedisRevocations) as well as a sync one.
        logout = None if issuer is None else async_to_sync(issuer.alogout)
        try:
            revoked = [
                family_id
                for family_id in queryset.values_list("pk", flat=True)
                if (logout(family_id) if logout else store.revoke(family_id, now, RefreshPolicy()) is not None)
            ]
        except (StoreUnavailable, ServiceUnavailable) as exc:
            self.message_user(request, f"The families were not all revoked: {exc}", messages.ERROR)
            return
        tail = "" if issuer else " Their access tokens work until they expire (BACKENDKIT_TOKEN_ISSUER is not set)."
        self.message_user(request, f"Revoked {len(revoked)} famil{'y' if len(revoked) == 1 else 'ies'}.{tail}")

    @admin.display(description="created", ordering="created_at")
    def created(self, obj: RefreshFamily) -> str:
        return _shown(obj.created_at)

    @admin.display(description="last used", ordering="last_used_at")
    def last_used(self, obj: RefreshFamily) -> str:
        return _shown(obj.last_used_at)

    @admin.display(description="ends", ordering="ends_at")
    def ends(self, obj: RefreshFamily) -> str:
        return _shown(obj.ends_at)

    @admin.display(description="revoked", ordering="revoked_at")
    def revoked(self, obj: RefreshFamily) -> str:
        return _shown(obj.revoked_at)

    @admin.display(description="live access tokens")
    def live_access(self, obj: RefreshFamily) -> int:
        now = time.time()
        return sum(1 for _, _, expires in obj.access or () if expires > now)

    @admin.display(description="status")
    def status(self, obj: RefreshFamily) -> str:
        if obj.revoked_at is not None:
            return "revoked"
        return "ended" if obj.ends_at <= time.time() else "live"


# Django's admin imports this module when it is installed, and the classes go to its default site; a
# project with a site of its own registers them there (``my_site.register(APIKey, APIKeyAdmin)``).
if apps.is_installed("django.contrib.admin"):
    admin.site.register(APIKey, APIKeyAdmin)
    admin.site.register(RefreshFamily, RefreshFamilyAdmin)

__all__ = ["APIKeyAdmin", "FamilyStatusFilter", "KeyStatusFilter", "NewKeyForm", "RefreshFamilyAdmin"]
