#!/usr/bin/env python3
# The reference trajectories pasted into autograd/optimizers_test.cc (not run by the build):
# /usr/bin/python3 autograd/optimizers_reference.py, with Debian's python3-torch and python3-numpy.
import numpy as np, torch
torch.set_default_dtype(torch.float64)
p0 = [1.0, -2.0, 0.5]
grads = [[0.5, -4.0, 0.0], [1.0, 0.25, -2.0], [-0.75, 3.0, 1.5]]

def run_torch(make):
    p = torch.tensor(p0, requires_grad=True)
    opt = make([p])
    out = []
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
        out.append(p.detach().numpy().copy())
    return out

def keras_rmsprop(lr, rho, momentum, eps, centered):
    # Keras 2.11 optimizer_v2 RMSprop, by hand: Python branch without momentum, TensorFlow's
    # ApplyRMSProp / ApplyCenteredRMSProp kernels with momentum (epsilon inside the root).
    p = np.array(p0); rms = np.zeros(3); mg = np.zeros(3); mom = np.zeros(3); out = []
    for g in grads:
        g = np.array(g)
        if momentum > 0:
            rms += (g * g - rms) * (1 - rho)
            d = rms + eps
            if centered:
                mg += (g - mg) * (1 - rho)
                d = rms - mg * mg + eps
            mom = mom * momentum + g * lr / np.sqrt(d)
            p = p - mom
        else:
            rms = rho * rms + (1 - rho) * g * g
            d = rms
            if centered:
                mg = rho * mg + (1 - rho) * g
                d = rms - mg * mg
            p = p - lr * g / (np.sqrt(d) + eps)
        out.append(p.copy())
    return out

def show(name, traj):
    print(name)
    for t in traj:
        print("  {" + ", ".join("%.9g" % v for v in t) + "},")

a = run_torch(lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=0.25))
show("RMSprop lr .01 eps .25 (torch)", a)
b = run_torch(lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=0.25, centered=True))
show("RMSprop centered eps .25 (torch)", b)
# The hand formula agrees with torch where Keras and torch agree (no momentum):
assert np.allclose(a, keras_rmsprop(0.01, 0.9, 0, 0.25, False), rtol=0, atol=1e-15)
assert np.allclose(b, keras_rmsprop(0.01, 0.9, 0, 0.25, True), rtol=0, atol=1e-15)
show("RMSprop momentum .5 (Keras by hand)", keras_rmsprop(0.01, 0.9, 0.5, 0.25, False))
show("RMSprop momentum .5 centered (Keras by hand)", keras_rmsprop(0.01, 0.9, 0.5, 0.25, True))
# With momentum torch differs (epsilon outside the root, lr applied after the buffer): show how
# much, to know the test can tell them apart.
t = run_torch(lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=0.25, momentum=0.5))
print("  torch with momentum differs by", np.abs(np.array(t) - keras_rmsprop(0.01, 0.9, 0.5, 0.25, False)).max())
c = run_torch(lambda ps: torch.optim.Adagrad(ps, lr=0.1, initial_accumulator_value=0.1, eps=0.25))
show("Adagrad lr .1 eps .25 (torch)", c)
