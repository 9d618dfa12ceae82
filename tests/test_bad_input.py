"""Bad input across the public surface, one table: each case must raise the
given exception with a message that names the argument, on every backend.
Valid inputs that used to be refused (big-endian arrays) must work."""
import numpy as np
import pytest

import fastpg
from fastpg import PrioritizedReplayBuffer, ReplayBuffer, SumTree

R = np.ones(5)
Z = np.zeros((4, 3))
O2 = np.zeros(2, np.float32)


def _buf(**kw):
    b = ReplayBuffer(8, (2,), **kw)
    b.add(O2, 0, 0.0, O2, False)
    return b


def _tree():
    t = SumTree(4)
    t.update([0, 1], [1.0, 2.0])
    return t


#: label -> (call(backend), exception, regex the message must match)
CASES = {
    # numbers that are not numbers
    "gamma=True": (lambda b: fastpg.discounted_returns(R, True, backend=b), TypeError, "gamma"),
    "gamma array of bools": (lambda b: fastpg.discounted_returns(R, np.ones(5, bool), backend=b),
                             TypeError, "gamma"),
    "lam=True": (lambda b: fastpg.gae(R, R, R, 0.9, True, backend=b), TypeError, "lam"),
    "alpha=True": (lambda b: fastpg.q_learning(Z.copy(), [0], [0], [1.0], [1], [False], 0.9, True,
                                               backend=b), TypeError, "alpha"),
    "epsilon=True": (lambda b: fastpg.expected_sarsa(Z.copy(), [0], [0], [1.0], [1], [False],
                                                     0.9, 0.5, True, backend=b),
                     TypeError, "epsilon"),
    "value_iteration gamma='0.9'": (lambda b: fastpg.value_iteration(
        np.full((2, 1, 2), 0.5), np.zeros((2, 1)), "0.9", backend=b), TypeError, "gamma"),
    "value_iteration tol=True": (lambda b: fastpg.value_iteration(
        np.full((2, 1, 2), 0.5), np.zeros((2, 1)), 0.9, True, backend=b), TypeError, "tol"),
    "value_iteration NaN mask": (lambda b: fastpg.value_iteration(
        np.full((2, 1, 2), 0.5), np.zeros((2, 1)), 0.9, action_mask=[[np.nan], [1.0]],
        backend=b), ValueError, "action_mask"),
    "SumTree.weights beta='0.5'": (lambda b: _tree().weights([0], "0.5"), TypeError, "beta"),
    "sample gamma='0.9'": (lambda b: _buf(backend=b).sample(2, 0, gamma="0.9"), TypeError,
                           "gamma"),
    "sample gamma=True": (lambda b: _buf(backend=b).sample(2, 0, gamma=True), TypeError, "gamma"),
    # tables that are not real numbers
    "epsilon_greedy complex Q": (lambda b: fastpg.epsilon_greedy(Z + 1j, [0], 0.1, 0, backend=b),
                                 TypeError, "Q"),
    "epsilon_greedy string Q": (lambda b: fastpg.epsilon_greedy(Z.astype(str), [0], 0.1, 0,
                                                                backend=b), TypeError, "Q"),
    "epsilon_greedy object Q": (lambda b: fastpg.epsilon_greedy(Z.astype(object), [0], 0.1, 0,
                                                                backend=b), TypeError, "Q"),
    # integers too large for the compiled code
    "n = 2**63": (lambda b: fastpg.nstep_returns(R, R, 0.9, 2**63, backend=b), ValueError, "n "),
    "n_step = 2**64": (lambda b: _buf(backend=b).sample(2, 0, n_step=2**64, gamma=0.9),
                       ValueError, "n_step"),
    "max_iter = 2**63": (lambda b: fastpg.value_iteration(
        np.full((2, 1, 2), 0.5), np.zeros((2, 1)), 0.9, max_iter=2**63, backend=b),
        ValueError, "max_iter"),
    "uint64 index 2**64 - 1": (lambda b: fastpg.q_learning(
        Z.copy(), np.array([2**64 - 1], np.uint64), [0], [1.0], [1], [False], 0.9, 0.5,
        backend=b), ValueError, "states.*18446744073709551615"),
    "float index 1e20": (lambda b: fastpg.q_learning(
        Z.copy(), np.array([1e20]), [0], [1.0], [1], [False], 0.9, 0.5, backend=b),
        (ValueError, TypeError), "states"),
    "float action 1e20": (lambda b: fastpg.log_prob_grad(np.zeros((1, 3)), np.array([1e20]),
                                                         backend=b),
                          ValueError, r"actions\[0\] = 1e\+20 is out of range"),
    # messages that blamed the wrong argument or the wrong array
    "states longer than the rest": (lambda b: fastpg.q_learning(
        Z.copy(), [0, 1, 2], [0, 0], [1.0, 1.0], [1, 1], [False, False], 0.9, 0.5, backend=b),
        ValueError, r"states must have 2 item\(s\) along its first axis, as actions"),
    "policy axis out of range": (lambda b: fastpg.softmax(np.zeros((2, 3)), axis=2, backend=b),
                                 ValueError, "for logits"),
    "backend as a list": (lambda b: fastpg.softmax(np.zeros((2, 3)), backend=[b]), TypeError,
                          "backend must be one of"),
    # buffers
    "obs_shape (2.5,)": (lambda b: ReplayBuffer(8, (2.5,), backend=b), TypeError, "obs_shape"),
    "store_next_obs 'no'": (lambda b: ReplayBuffer(8, (2,), store_next_obs="no", backend=b),
                            TypeError, "store_next_obs"),
    "fields as a list": (lambda b: ReplayBuffer(8, (2,), fields=["logp"], backend=b), TypeError,
                         "fields"),
    "terminated=nan": (lambda b: _buf(backend=b).add(O2, 0, 0.0, O2, np.nan), TypeError,
                       "terminated"),
    "action=True": (lambda b: _buf(backend=b).add(O2, True, 0.0, O2, False), TypeError, "action"),
    "PER alpha=inf": (lambda b: PrioritizedReplayBuffer(8, (2,), alpha=np.inf, backend=b),
                      ValueError, "alpha"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_names_the_argument(backend, case):
    call, exc, pattern = CASES[case]
    with pytest.raises(exc, match=pattern):
        call(backend)


def test_nothing_is_stored_by_a_refused_add(backend):
    buf = _buf(backend=backend)
    for bad in (dict(terminated=np.nan), dict(action=True)):
        kw = dict(obs=O2, action=0, reward=0.0, next_obs=O2, terminated=False)
        kw.update(bad)
        with pytest.raises(TypeError):
            buf.add(**kw)
    assert buf.total_added == 1


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "entropy", "softmax_jacobian",
                                  "log_prob_grad", "sample_categorical"])
def test_big_endian_arrays_work(backend, name):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5, 3))
    extra = {"log_prob_grad": (np.array([0, 1, 2, 0, 1]),), "sample_categorical": (0,)}
    fn = getattr(fastpg, name)
    if name == "softmax_jacobian":
        z = fastpg.softmax(z, backend="numpy")
    want = fn(z, *extra.get(name, ()), backend=backend)
    got = fn(z.astype(">f8"), *extra.get(name, ()), backend=backend)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.asarray(got).dtype.isnative


def _cartpole():
    import gymnasium as gym
    return gym.make("CartPole-v1")


def _grid():
    import gymnasium as gym

    import fastpg.envs  # noqa: F401
    return gym.make("fastpg/GridWorld-v0")


#: agent construction and train() arguments refused when the agent is built
#: or train() is called, naming the argument
AGENT_CASES = {
    "Reinforce lr=-1": (lambda A: A.Reinforce(_cartpole(), lr=-1), ValueError, "lr"),
    "Reinforce lr=NaN": (lambda A: A.Reinforce(_cartpole(), lr=np.nan), ValueError, "lr"),
    "Reinforce value_lr=0": (lambda A: A.Reinforce(_cartpole(), value_lr=0.0), ValueError,
                             "value_lr"),
    "Reinforce given an id": (lambda A: A.Reinforce("CartPole-v1"), TypeError,
                              r"gymnasium.make\('CartPole-v1'\)"),
    "Reinforce backend='bogus'": (lambda A: A.Reinforce(_cartpole(), backend="bogus"),
                                  ValueError, "backend"),
    "Reinforce train(episodes=-5)": (lambda A: A.Reinforce(_cartpole()).train(_cartpole(), -5),
                                     ValueError, "episodes"),
    "Reinforce train(episodes=1.5)": (lambda A: A.Reinforce(_cartpole()).train(_cartpole(), 1.5),
                                      TypeError, "episodes"),
    "ActorCritic alpha=-1": (lambda A: A.CompatibleActorCritic(_cartpole(), alpha=-1.0),
                             ValueError, "alpha"),
    "ActorCritic ridge=NaN": (lambda A: A.CompatibleActorCritic(_cartpole(), ridge=np.nan),
                              ValueError, "ridge"),
    "ReplayQ lr=-1": (lambda A: A.ReplayQ(_grid(), lr=-1.0), ValueError, "lr"),
    "ReplayQ epsilon=2": (lambda A: A.ReplayQ(_grid(), epsilon=2.0), ValueError, "epsilon"),
    "ReplayQ train_every=0": (lambda A: A.ReplayQ(_grid(), train_every=0), ValueError,
                              "train_every"),
    "ReplayQ target_update=0": (lambda A: A.ReplayQ(_grid(), target_update=0), ValueError,
                                "target_update"),
    "ReplayQ beta_steps=0": (lambda A: A.ReplayQ(_grid(), beta_steps=0), ValueError, "beta_steps"),
    "ReplayQ train(steps=1.5)": (lambda A: A.ReplayQ(_grid()).train(_grid(), steps=1.5),
                                 TypeError, "steps"),
    "QLearning alpha_decay=-1": (lambda A: A.QLearning(_grid(), alpha_decay=-1.0), ValueError,
                                 "alpha_decay"),
    "QLearning train(episodes=-5)": (lambda A: A.QLearning(_grid()).train(_grid(), episodes=-5),
                                     ValueError, "episodes"),
    "QLearning backend=['numba']": (lambda A: A.QLearning(_grid(), backend=["numba"]), TypeError,
                                    "backend"),
}


@pytest.mark.parametrize("case", list(AGENT_CASES))
def test_agents_check_their_arguments_up_front(case):
    from fastpg import agents
    call, exc, pattern = AGENT_CASES[case]
    with pytest.raises(exc, match=pattern):
        call(agents)


_MDP = dict(P=np.full((2, 1, 2), 0.5), R=np.zeros((2, 1)))

#: TabularMDP construction: the same rules as the tabular kernels
ENV_CASES = {
    "terminal_states=[-1]": (dict(terminal_states=[-1]), ValueError, r"terminal_states\[0\]"),
    "terminal_states=[5]": (dict(terminal_states=[5]), ValueError, "terminal_states"),
    "start_state=1.5": (dict(start_state=1.5), TypeError, "start_state"),
    "start_state=-1": (dict(start_state=-1), ValueError, "start_state"),
    "start_state not summing to 1": (dict(start_state=[0.5, 0.6]), ValueError,
                                     r"start_state must sum to 1"),
    "possible_actions out of range": (dict(possible_actions=[[0], [3]]), ValueError,
                                      r"possible_actions\[1\]"),
    "max_steps=1.5": (dict(max_steps=1.5), TypeError, "max_steps"),
    "max_steps=0": (dict(max_steps=0), ValueError, "max_steps"),
    "R with NaN": (dict(R=np.array([[np.nan], [0.0]])), ValueError, "R"),
    "P with a negative entry": (dict(P=np.array([[[1.5, -0.5]], [[0.5, 0.5]]])), ValueError,
                                r"P\[0, 0, 1\] = -0.5"),
    "P as strings": (dict(P=np.full((2, 1, 2), "a")), TypeError, "P"),
}


@pytest.mark.parametrize("case", list(ENV_CASES))
def test_tabular_mdp_checks_its_arguments(case):
    from fastpg.envs import TabularMDP
    change, exc, pattern = ENV_CASES[case]
    with pytest.raises(exc, match=pattern):
        TabularMDP(**(_MDP | change))
