"""`fastpg bench --peers` (fastpg.bench.peers_table) and the peer adapters
(fastpg.bench.peers): every workload runs at a small size, a peer that is
installed is timed after its result matched fastpg's, one that is not is
reported with the reason, a peer that disagrees fails loudly, and a bad
--kernels is one error line."""
import argparse
import json
import sys

import numpy as np
import pytest

from fastpg import cli
from fastpg.bench import peers as P
from fastpg.bench import peers_table

from .conftest import need


def _args(**kw):
    return argparse.Namespace(**{"kernels": None, "json": None, "plot": None, **kw})


def test_every_workload_runs_small(tmp_path, capsys):
    path, png = tmp_path / "p.json", tmp_path / "p.png"
    assert peers_table.bench_peers(_args(json=str(path), plot=str(png)), small=True) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # matplotlib: a test extra
    out = capsys.readouterr().out
    rows = json.loads(path.read_text())["peers"]
    assert [r["workload"] for r in rows] == [w for w, _, _ in peers_table.WORKLOADS]
    for r, (_, _, peers) in zip(rows, peers_table.WORKLOADS):
        assert r["fastpg"]["auto"] > 0 and len(r["fastpg"]) >= 2  # auto and a backend
        assert set(r["peers"]) | set(r["unavailable"]) == set(peers)
        assert all(rate > 0 for rate in r["peers"].values())
        if r["peers"]:
            best = max(r["peers"].values())
            assert r["ratio"] == pytest.approx(r["fastpg"]["auto"] / best)
        else:
            assert r["ratio"] is None
        for why in r["unavailable"].values():
            assert why in out
    assert "ratio = fastpg auto / best peer" in out


def test_installed_integration_peers_are_timed(capsys):
    """Stable-Baselines3 and torch are CI extras: their rows must have rates."""
    need("stable_baselines3")
    need("torch")
    args = _args(kernels="gae,linear_policy_grad,add_chunk64")
    assert peers_table.bench_peers(args, small=True) == 0
    out = capsys.readouterr().out.splitlines()
    gae = next(line for line in out if line.startswith("gae"))
    assert "sb3" in gae and "x" in gae
    assert "torch" in next(line for line in out if line.startswith("linear_policy_grad"))
    assert "sb3" in next(line for line in out if line.startswith("add_chunk64"))


def test_a_peer_that_disagrees_fails(monkeypatch):
    need("torch")
    d = P.policy_data(N=50)
    real = P.fastpg_policy
    monkeypatch.setattr(P, "fastpg_policy", lambda d, b=None: (lambda: 2 * real(d, b)()))
    with pytest.raises(AssertionError, match="torch autograd disagrees"):
        P.torch_policy(d)


def test_sb3_gae_equals_fastpg():
    need("stable_baselines3")
    d = P.returns_data(T=40, B=3)
    d["term"][5, 1] = d["term"][-1, 0] = True  # an end inside, and one at the last step
    adv = P.sb3_gae(d)()
    np.testing.assert_allclose(adv, P.fastpg_returns("gae", d, "numpy")()[0], rtol=1e-5,
                               atol=1e-5)


def test_missing_peer_is_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "cpprb", None)
    with pytest.raises(P.Unavailable, match="cpprb is not installed"):
        P.replay_peer("cpprb", "uniform_sample", "C1M-obs4f32", small=True)
    need("stable_baselines3")
    with pytest.raises(P.Unavailable, match="no prioritized buffer"):
        P.replay_peer("sb3", "per_sample_update", "C1M-obs4f32", small=True)


def test_cli_rejects_unknown_workloads(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["bench", "--peers", "--kernels", "gae,bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("fastpg: error: --peers workloads are") and "bogus" in err
    assert err.count("\n") == 1


def test_cartpole_peers_are_checked():
    """gymnasium's NumPy CartPoleVectorEnv is always there; a peer whose
    rewards are not CartPole's fails its check."""
    from fastpg.bench import peers_envs as E
    fn, n = E.env_peer("gymnasium", E.env_actions(8, 5))
    assert n == 40 and fn()[0].shape == (8, 4)
    with pytest.raises(AssertionError, match="does not step CartPole"):
        E._check_cartpole(np.zeros((8, 4)), np.full(8, 2.0), "a peer")
    with pytest.raises(E.Unavailable, match="no CartPole peer"):
        E.env_peer("brax", E.env_actions(8, 5))


def test_rollout_peers_run_the_same_policy():
    """The rollout workload: fastpg's fused rollout and the NumPy policy
    around gymnasium's vector env both run ROLLOUT_W (which keeps some
    poles up: episodes longer than a random policy's) and return CartPole's
    outputs; an unknown peer is refused."""
    from fastpg.bench import peers_envs as E
    mine, n = E.fastpg_rollout(16, 200)
    theirs, m = E.rollout_peer("gymnasium", 16, 200)
    assert n == m == 3200
    roll = mine()
    obs, rewards = theirs()
    assert roll.rewards.shape == rewards.shape == (200, 16) and obs.shape == (16, 4)
    # a random policy's CartPole episodes last ~22 steps; this one's longer
    assert 200 * 16 / max(1, roll.terminated.sum()) > 30
    assert 200 * 16 / max(1, (rewards == 0).sum()) > 30  # next-step resets pay 0
    with pytest.raises(E.Unavailable, match="no CartPole peer"):
        E.rollout_peer("brax", 16, 5)
