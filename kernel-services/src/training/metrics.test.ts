import { describe, expect, it } from 'vitest';
import { accuracy, accuracyByAngle, confusionMatrix, evaluateBinary, logLoss, rocAuc, rocCurve } from './metrics';

describe('binary metrics', () => {
  const y = [0, 0, 1, 1];
  const p = [0.1, 0.4, 0.35, 0.8];

  it('accuracy thresholds at 0.5', () => {
    expect(accuracy(y, p)).toBe(0.75);
    expect(accuracy(y, p, 0.3)).toBe(0.75);
  });

  it('log loss matches the hand-computed value', () => {
    const expected = -(Math.log(0.9) + Math.log(0.6) + Math.log(0.35) + Math.log(0.8)) / 4;
    expect(logLoss(y, p)).toBeCloseTo(expected, 12);
  });

  it('log loss clips certain mistakes to a finite value', () => {
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(1e-7), 6);
  });

  it('ROC AUC is the classic textbook value (0.75 for this example)', () => {
    expect(rocAuc(y, p)).toBe(0.75);
  });

  it('ROC AUC counts ties as half and is 0.5 for constant scores', () => {
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    expect(rocAuc([0, 1], [0.2, 0.9])).toBe(1);
    expect(rocAuc([1, 0], [0.2, 0.9])).toBe(0);
  });

  it('ROC AUC is undefined with one class', () => {
    expect(rocAuc([1, 1], [0.2, 0.9])).toBeNaN();
  });

  it('ROC AUC equals the trapezoid area under the ROC curve', () => {
    const labels = [0, 1, 1, 0, 1, 0, 0, 1, 1, 0];
    const probs = [0.2, 0.7, 0.6, 0.6, 0.9, 0.1, 0.3, 0.3, 0.8, 0.5];
    const { fpr, tpr } = rocCurve(labels, probs);
    let area = 0;
    for (let i = 1; i < fpr.length; i++) area += ((fpr[i]! - fpr[i - 1]!) * (tpr[i]! + tpr[i - 1]!)) / 2;
    expect(rocAuc(labels, probs)).toBeCloseTo(area, 12);
    expect(fpr.at(-1)).toBe(1);
    expect(tpr.at(-1)).toBe(1);
  });

  it('confusion matrix rows are the true class', () => {
    const c = confusionMatrix(y, p);
    expect(c.matrix).toEqual([
      [2, 0],
      [1, 1],
    ]);
  });

  it('accuracy by incidence angle puts missing angles in their own bin', () => {
    const bins = accuracyByAngle([1, 0, 1, 0], [0.9, 0.9, 0.2, 0.1], [31, 31, 44, null], [30, 38, 46]);
    expect(bins).toEqual([
      { label: '30–38°', low: 30, high: 38, count: 2, accuracy: 0.5 },
      { label: '38–46°', low: 38, high: 46, count: 1, accuracy: 0 },
      { label: 'missing', low: null, high: null, count: 1, accuracy: 1 },
    ]);
  });

  it('names what is wrong with bad input', () => {
    expect(() => accuracy([0, 1], [0.5])).toThrow(/2 labels but 1 predictions/);
    expect(() => accuracy([0, 2], [0.5, 0.5])).toThrow(/label 1 is 2/);
    expect(() => logLoss([0], [NaN])).toThrow(/prediction 0 is NaN/);
    expect(() => accuracy([], [])).toThrow(/no samples/);
  });

  it('evaluateBinary bundles every metric', () => {
    const e = evaluateBinary(y, p, [35, 36, 40, 41]);
    expect(e.samples).toBe(4);
    expect(e.rocAuc).toBe(0.75);
    expect(e.byAngle?.reduce((s, b) => s + b.count, 0)).toBe(4);
  });
});
