"""Save and load of the replay buffers: one ``.npz`` archive (no pickle),
written atomically, every array checked on the way back in."""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

_FORMAT = "fastpg.replay/1"

#: class name -> class, for load(): ReplayBuffer and every subclass
_ARCHIVE_CLASSES: dict = {}


class _hybridmethod:
    """``Cls.load(path)`` builds a buffer; ``buf.load(path)`` loads into ``buf``."""

    def __init__(self, func):
        self.func = func

    def __get__(self, obj, cls):
        def bound(*args, **kwargs):
            return self.func(cls, obj, *args, **kwargs)
        bound.__doc__ = self.func.__doc__
        return bound


class Archive:
    """save/load, pickling, and the registry of saved classes (a mixin of
    :class:`~fastpg.replay.ReplayBuffer`; the subclasses add their state)."""

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        # load() rebuilds the saved class by name (the first class of a name keeps it)
        _ARCHIVE_CLASSES.setdefault(cls.__name__, cls)

    def _config(self):
        spec = {k: [list(shape), dtype.str] for k, (shape, dtype) in self._spec.items()}
        return {"format": _FORMAT, "class": type(self).__name__, "capacity": self._capacity,
                "n_envs": self._n_envs, "store_next_obs": self._store_next_obs, "spec": spec}

    def _state(self):
        n = len(self)
        st = {f"field_{k}": fld.data[:n] for k, fld in self._f.items()}
        st["added"] = np.int64(self._added)
        if not self._store_next_obs:
            st["ref"] = self._ref[:n]
            st["side"] = self._side
            st["free"] = np.array(self._free, np.int64)
        return st

    def __getstate__(self):
        # pickle (e.g. Stable-Baselines3's save_replay_buffer): the fields are
        # views of one record array, so the state is saved as save() writes it
        with self._lock:
            return {"config": self._config(), "state": self._state(), "backend": self.backend}

    def __setstate__(self, st):
        self.__dict__.update(type(self)._from_config(st["config"], st["backend"]).__dict__)
        self._set_state(st["state"], st["config"])

    def save(self, path):
        """Write the whole buffer to ``path`` (an ``.npz`` archive, no pickle).

        Everything needed to continue round-trips exactly: configuration,
        data, write position, indices, next-obs side store and, for a
        prioritized buffer, the priorities and the maximum priority. The
        write is atomic: the archive is written to a temporary file in the
        same directory, flushed to disk and renamed over ``path``, so a crash
        leaves either the old file or the new one. The temporary file of a save
        that was killed is removed by the next save into the same directory;
        the archive gets the permissions the umask gives a new file.
        """
        path = os.fspath(path)
        with self._lock:
            arrays = self._state()
            arrays["config"] = np.array(json.dumps(self._config()))
            folder = os.path.dirname(os.path.abspath(path))
            _remove_stale_temporaries(folder)
            fd, tmp = tempfile.mkstemp(prefix=f".fastpg-replay-{os.getpid()}-", suffix=".tmp",
                                       dir=folder)
            try:
                with os.fdopen(fd, "wb") as f:
                    np.savez(f, **arrays)
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 is for the temporary only
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise

    @_hybridmethod
    def load(cls, self, path, backend=None):
        """Read a buffer written by ``save``.

        ``ReplayBuffer.load(path)`` (on the class) returns a new buffer of
        the saved class; ``buf.load(path)`` (on an instance) replaces the
        instance's contents and needs the same configuration (capacity,
        fields, dtypes, n_envs, ...).
        """
        path = os.fspath(path)
        arrays, config = _read_archive(path)
        saved = _ARCHIVE_CLASSES.get(config.get("class"))
        if saved is None or not issubclass(saved, cls if self is None else type(self)):
            raise TypeError(f"{path} holds a {config.get('class')}, not a "
                            f"{(cls if self is None else type(self)).__name__}")
        if self is not None:
            mine = self._config()
            if {k: v for k, v in mine.items() if k != "extra"} != \
                    {k: v for k, v in config.items() if k != "extra"}:
                raise ValueError(f"{path} holds a buffer of another configuration "
                                 f"({config}); this one is {mine}. Use "
                                 f"{type(self).__name__}.load(path) to build it.")
        # the whole archive is checked while building a new buffer; the one
        # loaded into changes only once that has worked
        try:
            fresh = saved._from_config(config, self.backend if self is not None else backend)
            fresh._set_state(arrays, config)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: not a valid fastpg replay buffer archive: {exc}") from None
        if self is None:
            return fresh
        with self._lock:
            self.__dict__.update({k: v for k, v in fresh.__dict__.items() if k != "_lock"})
        return self

    @classmethod
    def _from_config(cls, config, backend):
        spec = {k: (tuple(shape), np.dtype(dt)) for k, (shape, dt) in config["spec"].items()}
        fields = {k: v for k, v in spec.items() if k not in cls._CORE}
        kw = dict(config.get("extra", {}))
        return cls(config["capacity"], spec["obs"][0], spec["obs"][1], spec["action"][0],
                   spec["action"][1], config["n_envs"], reward_dtype=spec["reward"][1],
                   store_next_obs=config["store_next_obs"], fields=fields, backend=backend, **kw)

    def _set_state(self, arrays, config):
        """Fill this (new) buffer from a saved state, checking every array."""
        added = _stored(arrays, "added", (), "iu")
        if added < 0:
            raise ValueError(f"added = {added} is negative")
        added = int(added)
        n = min(added, self._capacity)
        for k, fld in self._f.items():
            fld.data[:n] = _stored(arrays, f"field_{k}", (n,) + fld.shape, fld.dtype.kind)
        self._added = added
        if not self._store_next_obs:
            side = _stored(arrays, "side", None, self._side.dtype.kind)
            if side.ndim < 1 or side.shape[1:] != self._side.shape[1:] or not side.shape[0]:
                raise ValueError(f"side has shape {side.shape}; expected (rows,) + "
                                 f"{self._side.shape[1:]}")
            ref = _stored(arrays, "ref", (n,), "iu").astype(np.int64)
            free = _stored(arrays, "free", None, "iu").astype(np.int64).reshape(-1)
            used = ref[ref >= 0]
            if ((ref < -1) | (ref >= side.shape[0])).any() or ((free < 0) |
                                                                 (free >= side.shape[0])).any():
                raise ValueError(f"ref/free hold rows outside the side store (0..{side.shape[0]})")
            if np.unique(np.concatenate([used, free])).size != used.size + free.size:
                raise ValueError("ref and free share side-store rows")
            self._ref[:n] = ref
            self._side = np.array(side)
            self._free = free.tolist()


def _umask():
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def _remove_stale_temporaries(folder):
    """Delete the temporaries of saves whose process is gone (killed mid-save).
    POSIX only: there, signal 0 asks whether a process exists."""
    if os.name != "posix":
        return
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not (name.startswith(".fastpg-replay-") and name.endswith(".tmp")):
            continue
        pid = name[len(".fastpg-replay-"):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:  # that process no longer exists
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass
        except OSError:  # exists, but another user's: not ours to clean
            pass


def _read_archive(path):
    """(arrays, config) of a save() archive; a file that is not one is a
    ValueError naming it (a missing file stays a FileNotFoundError)."""
    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable fastpg replay buffer archive "
                         f"({type(exc).__name__}: {exc})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not a fastpg replay buffer archive (a single .npy array)")
    try:
        with z:
            arrays = {k: z[k] for k in z.files}
        config = json.loads(str(arrays.pop("config")))
    except KeyError:
        raise ValueError(f"{path}: not a fastpg replay buffer archive (no config)") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable fastpg replay buffer archive "
                         f"({type(exc).__name__}: {exc})") from None
    if not isinstance(config, dict) or config.get("format") != _FORMAT:
        raise ValueError(f"{path}: unknown format "
                         f"{config.get('format') if isinstance(config, dict) else config!r}")
    return arrays, config


def _stored(arrays, key, shape, kinds):
    """arrays[key], checked: present, of ``shape`` (None: any) and a dtype kind in kinds."""
    if key not in arrays:
        raise KeyError(f"the archive has no {key!r}")
    a = arrays[key]
    if (shape is not None and a.shape != shape) or a.dtype.kind not in kinds:
        raise ValueError(f"{key} has shape {a.shape} and dtype {a.dtype}; expected shape "
                         f"{shape} and a dtype of kind {kinds!r}")
    return a[()] if a.ndim == 0 else a
