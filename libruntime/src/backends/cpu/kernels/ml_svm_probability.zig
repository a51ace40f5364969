//! Probabilities of an SVM classifier (ml_svm.zig): each pair's decision value goes through its
//! Platt sigmoid (prob_a, prob_b) to a pairwise probability, and libsvm's coupling method
//! (Wu, Lin and Weng, 2004, method 2) finds the class probabilities that agree best with all
//! pairs. It runs in f32, as onnxruntime's does: the iteration stops on a tolerance, so a
//! different precision could stop a step earlier or later and move the result past 1e-4.
const std = @import("std");

/// f32 values `couple` needs for k classes.
pub fn scratchSize(k: usize) usize {
    return 2 * k * k + 2 * k;
}

fn logistic(x: f32) f32 {
    const v = 1.0 / (1.0 + @exp(-@abs(x)));
    return if (x < 0) 1.0 - v else v;
}

/// Class probabilities (out, k values) from the k(k-1)/2 decision values of pairs i < j.
pub fn couple(k: usize, values: []const f64, prob_a: []const f64, prob_b: []const f64, scratch: []f32, out: []f64) void {
    const r = scratch[0 .. k * k];
    const q = scratch[k * k .. 2 * k * k];
    const qp = scratch[2 * k * k ..][0..k];
    const p = scratch[2 * k * k + k ..][0..k];
    var pair: usize = 0;
    for (0..k) |i| for (i + 1..k) |j| {
        const a: f32 = @floatCast(prob_a[pair]);
        const b: f32 = @floatCast(prob_b[pair]);
        const s: f32 = @floatCast(values[pair]);
        const probability = std.math.clamp(1 - logistic(s * a + b), 1e-7, 1 - 1e-7);
        r[i * k + j] = probability;
        r[j * k + i] = 1 - probability;
        pair += 1;
    };
    solve(k, r, q, qp, p);
    for (out[0..k], p) |*o, v| o.* = v;
}

/// Minimizes p'Qp subject to sum(p) = 1 by coordinate steps, from the uniform distribution.
fn solve(k: usize, r: []const f32, q: []f32, qp: []f32, p: []f32) void {
    const kf: f32 = @floatFromInt(k);
    for (0..k) |t| {
        p[t] = 1.0 / kf;
        q[t * k + t] = 0;
        for (0..t) |j| {
            q[t * k + t] += r[j * k + t] * r[j * k + t];
            q[t * k + j] = q[j * k + t];
        }
        for (t + 1..k) |j| {
            q[t * k + t] += r[j * k + t] * r[j * k + t];
            q[t * k + j] = -r[j * k + t] * r[t * k + j];
        }
    }
    const tolerance = 0.005 / kf;
    for (0..@max(100, k)) |_| {
        var pqp: f32 = 0;
        for (0..k) |t| {
            qp[t] = 0;
            for (0..k) |j| qp[t] += q[t * k + j] * p[j];
            pqp += p[t] * qp[t];
        }
        var worst: f32 = 0;
        for (qp[0..k]) |v| worst = @max(worst, @abs(v - pqp));
        if (worst < tolerance) break;
        for (0..k) |t| {
            const diff = (-qp[t] + pqp) / q[t * k + t];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[t * k + t] + 2 * qp[t])) / (1 + diff) / (1 + diff);
            for (0..k) |j| {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1 + diff);
                p[j] /= 1 + diff;
            }
        }
    }
}

test "two classes: the coupling returns the pairwise probability itself" {
    var scratch: [scratchSize(2)]f32 = undefined;
    var out: [2]f64 = undefined;
    // A decision value of 0 with prob_b = 0 is probability 1/2 either way.
    couple(2, &.{0}, &.{-1}, &.{0}, &scratch, &out);
    try std.testing.expectApproxEqAbs(@as(f64, 0.5), out[0], 1e-6);
    try std.testing.expectApproxEqAbs(@as(f64, 1), out[0] + out[1], 1e-6);
}
