"""One call of every public kernel function, on small NumPy inputs: the table
behind the call-path tests (tensors in and out, read-only inputs)."""
import numpy as np

_rng = np.random.default_rng(0)
N, A, D, T, B = 6, 3, 4, 7, 2
_X = _rng.standard_normal((N, D))
_W = _rng.standard_normal((D, A))
_Z = _rng.standard_normal((N, A))
_P = np.exp(_Z) / np.exp(_Z).sum(1, keepdims=True)
_ACT = _rng.integers(0, A, N)
_PHI = _rng.standard_normal((N, A, D))
_R = _rng.standard_normal((T, B))
_V = _rng.standard_normal((T, B))
_TERM = _rng.random((T, B)) < 0.2
_S, _S2 = _rng.integers(0, 4, N), _rng.integers(0, 4, N)
_MDP_P = np.full((4, A, 4), 0.25)
_MDP_R = _rng.standard_normal((4, A))

#: every public kernel function: (name, array arguments, other arguments); the
#: tabular updates write their first array(s) (the tables) in place
CALLS = [
    ("discounted_returns", (_R,), dict(gamma=0.9, terminated=_TERM)),
    ("gae", (_R, _V, _V[-1]), dict(gamma=0.9, lam=0.8, terminated=_TERM)),
    ("lambda_returns", (_R, _V), dict(gamma=0.9, lam=0.8, terminated=_TERM)),
    ("nstep_returns", (_R, _V), dict(gamma=0.9, n=3, terminated=_TERM)),
    ("softmax", (_Z,), {}),
    ("log_softmax", (_Z,), {}),
    ("softmax_jacobian", (_P,), {}),
    ("softmax_jvp", (_P, _Z), {}),
    ("log_prob_grad", (_Z, _ACT), {}),
    ("linear_policy_probs", (_X, _W), {}),
    ("linear_policy_grad", (_X, _ACT, np.ones(N), _W), {}),
    ("compatible_features", (_PHI, _W[:, 0]), {}),
    ("action_feature_grad", (_PHI, _ACT, np.ones(N), _W[:, 0]), {}),
    ("sample_categorical", (_Z,), dict(rng=0)),
    ("entropy", (_Z,), {}),
    ("policy_gradient_loss", (_Z, _ACT, np.ones(N)), {}),
    ("q_learning", (np.zeros((4, A)), _S, _ACT, np.ones(N), _S2, np.zeros(N, bool)),
     dict(gamma=0.9, alpha=0.5)),
    ("sarsa", (np.zeros((4, A)), _S, _ACT, np.ones(N), _S2, _ACT, np.zeros(N, bool)),
     dict(gamma=0.9, alpha=0.5)),
    ("expected_sarsa", (np.zeros((4, A)), _S, _ACT, np.ones(N), _S2, np.zeros(N, bool)),
     dict(gamma=0.9, alpha=0.5, epsilon=0.1)),
    ("double_q_learning", (np.zeros((4, A)), np.zeros((4, A)), _S, _ACT, np.ones(N), _S2,
                           _ACT % 2, np.zeros(N, bool)), dict(gamma=0.9, alpha=0.5)),
    ("td0", (np.zeros(4), _S, np.ones(N), _S2, np.zeros(N, bool)), dict(gamma=0.9, alpha=0.5)),
    ("epsilon_greedy", (_rng.standard_normal((4, A)), _S), dict(epsilon=0.3, rng=0)),
    ("value_iteration", (_MDP_P, _MDP_R), dict(gamma=0.9)),
    ("q_learning_rollout", (np.zeros((4, A)), _MDP_P, _MDP_R), dict(n_steps=100, rng=0)),
]



#: how many leading arrays of each call are tables updated in place
IN_PLACE = {"q_learning": 1, "sarsa": 1, "expected_sarsa": 1, "double_q_learning": 2, "td0": 1,
            "q_learning_rollout": 1}
