"""lmfit's bound transforms for the batched engine: a bounded parameter fitted through an unbounded one."""

from __future__ import annotations


class BoundTransform:
    """lmfit's bound transforms p <-> u on arrays (n, kf), with a per-entry scale."""

    def __init__(self, xp, lo, hi, scale):
        self.xp = xp
        self.lo, self.hi, self.sc = lo / scale, hi / scale, scale
        fin_lo, fin_hi = xp.isfinite(self.lo), xp.isfinite(self.hi)
        self.both = fin_lo & fin_hi
        self.low = fin_lo & ~fin_hi
        self.up = ~fin_lo & fin_hi
        z = xp.zeros_like(self.lo)
        self.lo0, self.hi0 = xp.where(fin_lo, self.lo, z), xp.where(fin_hi, self.hi, z)

    def to_u(self, p):
        xp, q = self.xp, p / self.sc
        lo, hi = self.lo0, self.hi0
        arg = xp.clip(2 * (q - lo) / xp.where(self.both, hi - lo, 1.0) - 1, -1, 1)
        u = xp.where(self.both, xp.arcsin(arg), q)
        u = xp.where(self.low, xp.sqrt(xp.maximum((q - lo + 1) ** 2 - 1, 0)), u)
        return xp.where(self.up, xp.sqrt(xp.maximum((hi - q + 1) ** 2 - 1, 0)), u)

    def to_p(self, u):
        xp, lo, hi = self.xp, self.lo0, self.hi0
        s = xp.sqrt(u * u + 1)
        q = xp.where(self.both, lo + (xp.sin(u) + 1) * (hi - lo) / 2, u)
        q = xp.where(self.low, lo - 1 + s, q)
        q = xp.where(self.up, hi + 1 - s, q)
        return q * self.sc

    def dp_du(self, u):
        xp, lo, hi = self.xp, self.lo0, self.hi0
        s = xp.sqrt(u * u + 1)
        d = xp.where(self.both, xp.cos(u) * (hi - lo) / 2, 1.0)
        d = xp.where(self.low, u / s, d)
        d = xp.where(self.up, -u / s, d)
        return d * self.sc

    def take(self, idx):
        t = object.__new__(BoundTransform)
        t.xp = self.xp
        for name in ("lo", "hi", "sc", "both", "low", "up", "lo0", "hi0"):
            setattr(t, name, getattr(self, name)[idx])
        return t
