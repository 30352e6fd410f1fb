import { describe, expect, it } from 'vitest';
import { loadTf } from './backend';
import { gradCam, saliency } from './explain';
import { buildModel } from './zoo';

describe('explanations', () => {
  const tf = loadTf();

  it('saliency of a model that only looks at the centre is zero away from the centre', () => {
    // A fixed "model": mean of a 5x5 window in the middle, through a sigmoid.
    const input = tf.input({ shape: [15, 15, 1] });
    const crop = tf.layers
      .cropping2D({
        cropping: [
          [5, 5],
          [5, 5],
        ],
      })
      .apply(input) as import('@tensorflow/tfjs-node').SymbolicTensor;
    const flat = tf.layers.flatten().apply(crop) as import('@tensorflow/tfjs-node').SymbolicTensor;
    const out = tf.layers
      .dense({ units: 1, activation: 'sigmoid', kernelInitializer: 'ones', useBias: false })
      .apply(flat);
    const model = tf.model({ inputs: input, outputs: out as import('@tensorflow/tfjs-node').SymbolicTensor });
    const patch = tf.randomNormal([15, 15, 1], 0, 0.1, 'float32', 3);
    const map = saliency(model, patch);
    expect(map.height).toBe(15);
    expect(map.scale).toBeGreaterThan(0);
    for (let r = 0; r < 15; r++) {
      for (let c = 0; c < 15; c++) {
        const inside = r >= 5 && r < 10 && c >= 5 && c < 10;
        if (inside) expect(map.values[r * 15 + c]).toBeGreaterThan(0.99);
        else expect(map.values[r * 15 + c]).toBe(0);
      }
    }
    patch.dispose();
    model.dispose();
  });

  it('Grad-CAM peaks on the bright target that drives the prediction', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [30, 30, 1],
          filters: 1,
          kernelSize: 3,
          padding: 'same',
          kernelInitializer: 'ones',
          useBias: false,
        }),
        tf.layers.flatten(),
        // Small weights keep the sigmoid out of saturation, so gradients are not vanishingly small.
        tf.layers.dense({
          units: 1,
          activation: 'sigmoid',
          kernelInitializer: tf.initializers.constant({ value: 1e-3 }),
          useBias: false,
        }),
      ],
    });
    const pixels = new Float32Array(30 * 30).fill(0.01);
    for (let r = 18; r < 23; r++) for (let c = 6; c < 11; c++) pixels[r * 30 + c] = 1;
    const patch = tf.tensor3d(pixels, [30, 30, 1]);
    const map = gradCam(model, patch);
    const peak = map.values.indexOf(Math.max(...map.values));
    expect(Math.floor(peak / 30)).toBeGreaterThanOrEqual(18);
    expect(Math.floor(peak / 30)).toBeLessThan(23);
    expect(peak % 30).toBeGreaterThanOrEqual(6);
    expect(peak % 30).toBeLessThan(11);
    expect(map.values[2 * 30 + 25]).toBeLessThan(0.1);
    patch.dispose();
    model.dispose();
  });

  it('Grad-CAM on a sequential LeNet gives a normalised 75x75 map', () => {
    const model = buildModel('lenet');
    const patch = tf.randomNormal([75, 75, 2], 0, 1, 'float32', 5);
    const map = gradCam(model, patch);
    expect(map.values.length).toBe(75 * 75);
    const max = Math.max(...map.values);
    expect(max === 0 || Math.abs(max - 1) < 1e-6).toBe(true);
    expect(Math.min(...map.values)).toBeGreaterThanOrEqual(0);
    patch.dispose();
    model.dispose();
  });

  it('Grad-CAM and saliency work on the two-input model with the incidence angle', () => {
    const model = buildModel('extremeearth-cnn-angle', { inputShape: [75, 75, 3] });
    expect(model.inputs.map((i) => i.name)).toEqual(['image', 'inc_angle']);
    const patch = tf.randomNormal([75, 75, 3], 0, 1, 'float32', 9);
    const angle = tf.tensor2d([[0.4]]);
    const cam = gradCam(model, patch, { extra: [angle] });
    const sal = saliency(model, patch, [angle]);
    expect(cam.values.length).toBe(75 * 75);
    expect(sal.scale).toBeGreaterThan(0);
    patch.dispose();
    angle.dispose();
    model.dispose();
  });

  it('rejects a patch of the wrong shape, naming both shapes', () => {
    const model = buildModel('lenet');
    const patch = tf.zeros([64, 64, 2]);
    expect(() => saliency(model, patch)).toThrow(/\[64, 64, 2\] does not match the model input \[75, 75, 2\]/);
    patch.dispose();
    model.dispose();
  });

  it('names the known models when asked for an unknown one', () => {
    expect(() => buildModel('resnet')).toThrow(/unknown model 'resnet'; known models: lenet, extremeearth-cnn/);
  });
});
