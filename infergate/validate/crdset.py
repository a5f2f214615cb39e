"""Which pinned CRD files a validation uses: those of a platform profile (infergate/synth/data/profiles.yaml).

Each profile names its lock entries; two profiles may pin different releases of the same CRD (sail-operator
1.27.3 vs 1.28.3), so a run picks one set per file, never the union.
"""

from __future__ import annotations

from infergate.core.errors import ConfigError
from infergate.crds import lockfile as lock
from infergate.synth import profiles


def profile_entries(profile: str | None = None) -> list[lock.LockEntry]:
    """The pinned CRD files of a platform profile (the default profile for None), in the profile's order."""
    if profile is not None and profile not in profiles.names():
        raise ConfigError(f"unknown platform profile {profile!r} (known: {', '.join(profiles.names())})")
    chosen = profiles.get(profile)
    by_name = {e.name: e for e in lock.read_lock() if e.kind == "crd"}
    missing = [name for name in chosen.crds if name not in by_name]
    if missing:
        raise ConfigError(f"profile {chosen.name} names {missing[0]}, which infergate/crds/crds.lock "
                          "does not pin as a crd", file=str(profiles.TABLE_PATH))
    return [by_name[name] for name in chosen.crds]
