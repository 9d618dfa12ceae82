"""fastpg.distributed on a local Ray (2 CPUs, no dashboard, started here and
shut down after): a replay server's round trips equal the local buffer's,
the sharded sampling law and weights equal one buffer's (chi-square),
stale updates, checkpoint and restore of a killed server, restart of a
killed worker, and the workers' data."""
import numpy as np
import pytest

from fastpg import PrioritizedReplayBuffer

from .conftest import need

ray = need("ray")

from fastpg.distributed import ReplayServer, RolloutWorker, ShardedReplay  # noqa: E402

pytestmark = pytest.mark.usefixtures("local_ray")


def _chunk(rng, T, obs_dim=3):
    obs = rng.standard_normal((T, obs_dim)).astype(np.float32)
    return (obs, rng.integers(0, 4, T), rng.standard_normal(T), obs + 1,
            rng.random(T) < 0.1, rng.random(T) < 0.05)


def _equal(a, b):
    assert set(a) == set(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_server_round_trips_equal_the_local_buffer():
    """Adds with and without priorities, samples (1-step and 3-step), updates
    and a stale update: the server answers exactly as the same buffer in
    this process."""
    opts = dict(alpha=0.7, beta=0.5, eps=1e-3)
    local = PrioritizedReplayBuffer(64, (3,), **opts)
    server = ReplayServer.remote(64, (3,), **opts)
    rng = np.random.default_rng(0)
    for k in range(5):
        chunk = _chunk(rng, 20)
        prio = rng.random(20) * 3 if k % 2 else None
        local.extend(*chunk, priorities=prio)
        assert ray.get(server.add.remote(*chunk, priorities=prio)) == local.total_added
    for seed in range(3):
        got = ray.get(server.sample.remote(16, seed))
        want = local.sample(16, np.random.default_rng(seed))
        got.pop("priorities")
        _equal(got, want)
        got = ray.get(server.sample.remote(16, seed, 3, 0.9))
        got.pop("priorities")
        _equal(got, local.sample(16, np.random.default_rng(seed), n_step=3, gamma=0.9))
        new = rng.random(16)
        assert ray.get(server.update_priorities.remote(want.indices, new)) == \
            local.update_priorities(want.indices, new)
    stale = local.sample(8, np.random.default_rng(9)).indices
    for x in (local, server):
        chunk = _chunk(np.random.default_rng(1), 64)
        (x.extend(*chunk) if x is local else ray.get(server.add.remote(*chunk)))
    assert ray.get(server.update_priorities.remote(stale, np.ones(8))) == 0 == \
        local.update_priorities(stale, np.ones(8))


def _filled_shards(sizes, seed=0):
    """Shards holding ``sizes`` transitions with random priorities (some 0);
    returns the servers and each shard's p^α (alpha 0.6, eps 0)."""
    rng = np.random.default_rng(seed)
    servers, leaves = [], []
    for n in sizes:
        s = ReplayServer.remote(64, (3,), alpha=0.6, eps=0.0)
        prio = rng.random(n) * 5
        prio[rng.random(n) < 0.1] = 0.0
        ray.get(s.add.remote(*_chunk(rng, n), priorities=prio))
        servers.append(s)
        leaves.append(prio ** 0.6)
    return servers, leaves


def test_sharded_sampling_law_is_one_buffers():
    """Three shards of 7, 20 and 33 transitions: over 300 batches of 64 the
    frequency of every (shard, index) matches p^α / Σ p^α of all shards
    together (chi-square at the 0.1% level), never a zero priority; the
    weights are (p_min / p^α)^β over all shards."""
    servers, leaves = _filled_shards([7, 20, 33])
    rep = ShardedReplay(servers, beta=0.4)
    allp = np.concatenate(leaves)
    offsets = np.cumsum([0] + [len(x) for x in leaves])[:-1]
    counts = np.zeros(allp.size)
    rng = np.random.default_rng(1)
    p_min = allp[allp > 0].min()
    for _ in range(300):
        b = rep.sample(64, rng)
        flat = offsets[b.shards] + b.indices
        np.add.at(counts, flat, 1)
        np.testing.assert_allclose(b.weights, (p_min / allp[flat]) ** 0.4, rtol=1e-6)
    expected = counts.sum() * allp / allp.sum()
    assert counts[allp == 0].sum() == 0
    live = expected > 0
    chi2 = (((counts - expected) ** 2)[live] / expected[live]).sum()
    dof = int(live.sum()) - 1
    # the chi-square quantile at 0.999 (Wilson-Hilferty)
    limit = dof * (1 - 2 / (9 * dof) + 3.09 * np.sqrt(2 / (9 * dof))) ** 3
    assert chi2 < limit, (chi2, limit)


def test_one_shard_samples_as_the_local_buffer():
    """ShardedReplay over one server: the draws of one local buffer whose
    generator gets the seed the learner sends (its weights too)."""
    local = PrioritizedReplayBuffer(64, (3,), alpha=0.6, eps=1e-2)
    server = ReplayServer.remote(64, (3,), alpha=0.6, eps=1e-2)
    chunk = _chunk(np.random.default_rng(2), 40)
    prio = np.random.default_rng(3).random(40)
    local.extend(*chunk, priorities=prio)
    ray.get(server.add.remote(*chunk, priorities=prio))
    rep = ShardedReplay([server], beta=0.6)
    got = rep.sample(32, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    rng.multinomial(32, [1.0])
    want = local.sample(32, np.random.default_rng(rng.integers(0, 2**63, 1)[0]), beta=0.6)
    assert (got.pop("shards") == 0).all()
    np.testing.assert_allclose(got.pop("weights"), want.pop("weights"), rtol=1e-6)
    _equal(got, want)


def test_sharded_updates_and_their_errors():
    servers, leaves = _filled_shards([10, 10], seed=4)
    rep = ShardedReplay(servers)
    b = rep.sample(16, 0)
    assert rep.update_priorities(b.shards, b.indices, np.full(16, 2.0)) == 16
    before = [ray.get(s.stats.remote()) for s in servers]
    with pytest.raises(ValueError, match="priorities must be finite"):
        rep.update_priorities(b.shards, b.indices, np.full(16, -1.0))
    with pytest.raises(ValueError, match="shards"):
        rep.update_priorities(b.shards + 5, b.indices, 1.0)
    with pytest.raises(ValueError, match="1-D"):
        rep.update_priorities(b.shards, b.indices[None], 1.0)
    assert [ray.get(s.stats.remote()) for s in servers] == before  # nothing changed
    # not waiting: each shard still applies them before the learner's next call
    refs = rep.update_priorities(b.shards, b.indices, 1e6, wait=False)
    assert sum(st[0] for st in rep.stats()) >= (1e6 ** 0.6)
    assert sum(ray.get(refs)) == 16
    with pytest.raises(ValueError, match="at least one"):
        ShardedReplay([])
    with pytest.raises(ValueError, match="batch_size"):
        rep.sample(0)


def _after_restart(actor, pid, timeout=60.0):
    """The actor's info() once Ray has restarted it (a new process)."""
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            info = ray.get(actor.info.remote())
            if info["pid"] != pid:
                return info
        except ray.exceptions.RayActorError:  # dead between the kill and the restart
            pass
        time.sleep(0.1)
    raise AssertionError(f"the actor was not restarted within {timeout} s")


def test_a_killed_server_restarts_from_its_checkpoint(tmp_path):
    """Ray restarts a killed server; it reloads its last save and loses only
    what was added after it."""
    path = tmp_path / "shard0.npz"
    server = ReplayServer.remote(256, (3,), checkpoint=path)
    rng = np.random.default_rng(6)
    ray.get(server.add.remote(*_chunk(rng, 100), priorities=rng.random(100)))
    assert ray.get(server.save.remote()) == 100
    saved = ray.get(server.sample.remote(32, 7))
    ray.get(server.add.remote(*_chunk(rng, 50)))
    before = ray.get(server.info.remote())
    assert before["total_added"] == 150 and not before["restored"]
    ray.kill(server, no_restart=False)
    after = _after_restart(server, before["pid"])
    assert after["restored"]
    assert after["total_added"] == after["len"] == 100
    again = ray.get(server.sample.remote(32, 7))
    _equal(again, saved)  # the same contents and priorities as at the save


def test_a_killed_worker_restarts_and_its_call_completes():
    """A worker killed during a call is restarted by Ray and the call is
    retried (it carries its parameters), so the learner's loop goes on."""
    worker = RolloutWorker.remote("fastpg/CartPole-v1", num_envs=4, seed=0)
    W = np.zeros((5, 2))
    pid = ray.get(worker.pid.remote())
    ref = worker.trajectories.remote(20_000, params=W)
    ray.kill(worker, no_restart=False)
    out = ray.get(ref)
    assert out["obs"].shape == (20_000, 4, 4) and ray.get(worker.pid.remote()) != pid


def test_worker_trajectories_are_the_fused_rollout():
    """On fastpg/CartPole-v1 a worker's trajectory is the env's fused rollout
    of the broadcast W with the worker's generator (the same data as
    running it here), with the observations after the last step."""
    from fastpg.envs import CartPoleVectorEnv
    W = np.array([[0.0, 0.0], [0.0, 0.5], [0.0, 8.0], [0.0, 2.0], [0.1, 0.0]])
    worker = RolloutWorker.remote("fastpg/CartPole-v1", num_envs=8, seed=3)
    assert ray.get(worker.set_weights.remote(W)) == 0
    got = ray.get(worker.trajectories.remote(100))
    env = CartPoleVectorEnv(8)
    env.reset(seed=3)
    want = env.rollout(W, 100, np.random.default_rng(3))
    np.testing.assert_array_equal(got["obs"], want.observations)
    np.testing.assert_array_equal(got["log_probs"], want.log_probs)
    np.testing.assert_array_equal(got["last_obs"], env.observations)
    ends = want.terminated | want.truncated
    assert len(got["episode_returns"]) == ends.sum() and got["version"] == 0


def test_worker_transitions_feed_a_server_with_td_priorities():
    """Ape-X's actor side: ε-greedy transitions of the GridWorld with
    |r + γ max Q(s') - Q(s, a)| priorities, added straight to a server."""
    server = ReplayServer.remote(4096, (), np.int64, alpha=1.0, eps=0.0)
    worker = RolloutWorker.remote("fastpg/GridWorld-v0", num_envs=4, seed=0)
    Q = np.random.default_rng(0).standard_normal((90, 4))
    local = ray.get(worker.transitions.remote(50, 0.3, 0.9, params=Q))
    boot = np.where(local["terminated"], 0.0, Q[local["next_obs"]].max(axis=1))
    want = np.abs(local["reward"] + 0.9 * boot - Q[local["obs"], local["action"]])
    np.testing.assert_allclose(local["priorities"], want)
    assert ray.get(worker.transitions.remote(50, 0.3, 0.9, server, params=Q))["added"] == 200
    total, n, _, added = ray.get(server.stats.remote())
    assert n == added == 200 and total > 0
    with pytest.raises(ray.exceptions.RayTaskError, match="set_weights"):
        ray.get(RolloutWorker.remote("fastpg/GridWorld-v0").transitions.remote(5, 0.1))
