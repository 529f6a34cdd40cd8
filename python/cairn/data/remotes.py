"""The remotes of a cairn repository (``cairn remote``, kept in ``.cairn/config``): their
URLs and S3 settings, and the object store each one opens. Mixed into
:class:`~cairn.data.repo.Repo`."""

from __future__ import annotations

from pathlib import Path

from .. import _core, filesystems
from .common import CairnError, _git

_store = _core.store


class RemotesMixin:
    """The remote methods of :class:`~cairn.data.repo.Repo`."""

    root: Path
    dir: Path

    def _config(self, *args: str, check: bool = True) -> str:
        return _git(self.root, "config", "-f", str(self.dir / "config"), *args, check=check).decode()

    def remotes(self) -> dict[str, str]:
        out = self._config("--get-regexp", r"^remote\..*\.url$", check=False)
        result = {}
        for line in out.splitlines():
            key, _, url = line.partition(" ")
            result[key[len("remote."): -len(".url")]] = url
        return result

    def add_remote(self, name: str, url: str, default: bool = True, endpoint_url: str | None = None,
                   region: str | None = None) -> None:
        """Adds a folder or ``s3://bucket/prefix`` remote. For S3, ``endpoint_url`` and
        ``region`` are kept in .cairn/config (credentials never are: they come from the
        AWS environment or profile)."""
        if not name or any(c in name for c in " \t\n/\\.\"'"):
            raise CairnError(f"bad remote name '{name}': use letters, digits, - and _")
        if name in self.remotes():
            raise CairnError(f"remote '{name}' exists; remove it first with `cairn remote remove {name}`")
        for what, value in (("URL", url), ("--endpoint-url", endpoint_url)):
            leak = filesystems.credentials_in_url(value) if value else None
            if leak:  # .cairn/config is committed and `cairn remote` shows it
                raise CairnError(
                    f"remote '{name}': refusing the {what} {filesystems.redact_url(value)!r}: "
                    f"{leak}. It would be saved in .cairn/config, which is committed; "
                    f"{filesystems.CREDENTIALS_GO}")
        if filesystems.is_s3(url):
            try:
                filesystems.split_s3(url)
                filesystems.S3Options.resolve({"endpoint_url": endpoint_url, "region": region})
            except ValueError as e:
                raise CairnError(f"remote '{name}': {e}") from None
            url = url.rstrip("/")
        elif endpoint_url or region:
            raise CairnError("--endpoint-url and --region apply to s3:// remotes only")
        elif "://" in url and not url.startswith("file://"):
            raise CairnError(f"remote '{name}': '{url}' is neither a folder nor s3://bucket/prefix")
        elif "://" not in url:
            url = str(Path(url).expanduser().resolve())
        self._config(f"remote.{name}.url", url)
        if endpoint_url:
            self._config(f"remote.{name}.endpointurl", endpoint_url)
        if region:
            self._config(f"remote.{name}.region", region)
        if default or "core.remote" not in self._config("--list", check=False):
            self._config("core.remote", name)

    def remove_remote(self, name: str) -> None:
        if name not in self.remotes():
            raise CairnError(f"no remote named '{name}'")
        self._config("--remove-section", f"remote.{name}")
        if self._config("--get", "core.remote", check=False).strip() == name:
            self._config("--unset", "core.remote", check=False)

    def remote_url(self, name: str | None = None) -> tuple[str, str]:
        remotes = self.remotes()
        if name is None:
            name = self._config("--get", "core.remote", check=False).strip() or None
            if name is None and len(remotes) == 1:
                name = next(iter(remotes))
        if name is None:
            raise CairnError("no remote configured; add one with `cairn remote add NAME URL`")
        if name not in remotes:
            raise CairnError(f"no remote named '{name}' (known: {', '.join(sorted(remotes)) or 'none'})")
        return name, remotes[name]

    def remote_s3_options(self, name: str) -> "filesystems.S3Options":
        """The S3 options of remote ``name``: its configured endpoint and region, the
        credentials from the AWS environment (or the SDK's default chain)."""
        get = lambda key: self._config("--get", f"remote.{name}.{key}", check=False).strip()  # noqa: E731
        try:
            return filesystems.S3Options.resolve({"endpoint_url": get("endpointurl") or None,
                                                  "region": get("region") or None})
        except ValueError as e:
            raise CairnError(f"remote '{name}': {e}") from None

    def remote_store(self, name: str | None = None):
        name, url = self.remote_url(name)
        if filesystems.is_s3(url):
            options = self.remote_s3_options(name)
            try:
                store = _store.ObjectStore.open(url + "/packs", options.core_spec())
            except OSError as e:
                error = filesystems.explain(e, url, 'listing')
                raise CairnError(f"remote '{name}' ({url}): {error}"
                                 + missing_bucket_hint(name, url, error)) from None
            if not store.pack_names():  # empty, or no bucket: listing one says nothing
                try:
                    filesystems.info_bucket(url, options)
                except OSError as e:
                    raise CairnError(f"remote '{name}' ({url}): {e}"
                                     + missing_bucket_hint(name, url, e)) from None
            return name, store
        if "://" in url and not url.startswith("file://"):
            raise CairnError(f"remote '{name}': '{url}' is neither a folder nor s3://bucket/prefix")
        folder = Path(url[len("file://"):] if url.startswith("file://") else url)
        try:
            (folder / "packs").mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CairnError(f"remote '{name}': cannot use folder '{folder}': {e.strerror}") from None
        return name, _store.ObjectStore.open(str(folder / "packs"))


def missing_bucket_hint(name: str, url: str, error: BaseException) -> str:
    """What to do when ``error`` says remote ``name``'s bucket does not exist ("" if not)."""
    if not (isinstance(error, FileNotFoundError) and "bucket" in str(error)):
        return ""
    bucket = filesystems.split_s3(url)[0]
    return (f"\nCreate the bucket (e.g. `aws s3 mb s3://{bucket}`, with --endpoint-url for an "
            f"S3-compatible server), or fix the remote's URL: `cairn remote remove {name}`, "
            f"then `cairn remote add {name} s3://BUCKET/PREFIX`.")
