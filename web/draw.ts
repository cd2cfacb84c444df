/**
 * The drawing pad: a digit drawn with the mouse (or a finger), made into MNIST's form: the
 * strokes' bounding box scaled to fit 20×20, centred by its centre of mass in 28×28, white on
 * black, as LeCun et al. prepared the digits.
 */
export function drawingPad(c: HTMLCanvasElement, onDigit: (pixels: Uint8Array) => void): { clear(): void } {
  const g = c.getContext('2d')!;
  const clear = () => {
    g.fillStyle = '#000';
    g.fillRect(0, 0, c.width, c.height);
  };
  clear();
  let last: [number, number] | null = null;
  const at = (e: PointerEvent): [number, number] => {
    const r = c.getBoundingClientRect();
    return [((e.clientX - r.left) * c.width) / r.width, ((e.clientY - r.top) * c.height) / r.height];
  };
  c.addEventListener('pointerdown', (e) => {
    c.setPointerCapture(e.pointerId);
    last = at(e);
  });
  c.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = at(e);
    g.strokeStyle = '#fff';
    g.lineWidth = c.width / 14;
    g.lineCap = 'round';
    g.beginPath();
    g.moveTo(...last);
    g.lineTo(...p);
    g.stroke();
    last = p;
  });
  const end = () => {
    if (last) onDigit(toMnist(c));
    last = null;
  };
  c.addEventListener('pointerup', end);
  c.addEventListener('pointercancel', end);
  return { clear };
}

/** The canvas as a 28×28 MNIST digit (bytes, white on black). */
export function toMnist(c: HTMLCanvasElement): Uint8Array {
  const src = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
  let [x0, y0, x1, y1] = [c.width, c.height, -1, -1];
  for (let y = 0; y < c.height; y++) {
    for (let x = 0; x < c.width; x++) {
      if (src.data[4 * (y * c.width + x)] > 20) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  const out = new Uint8Array(28 * 28);
  if (x1 < 0) return out;
  const box = document.createElement('canvas');
  box.width = box.height = 28;
  const bg = box.getContext('2d')!;
  const s = 20 / Math.max(x1 - x0 + 1, y1 - y0 + 1);
  const w = (x1 - x0 + 1) * s;
  const h = (y1 - y0 + 1) * s;
  bg.drawImage(c, x0, y0, x1 - x0 + 1, y1 - y0 + 1, 0, 0, w, h);
  const small = bg.getImageData(0, 0, 28, 28).data;
  // Centre of mass of the scaled digit, moved to (14, 14).
  let [m, mx, my] = [0, 0, 0];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = small[4 * (y * 28 + x)];
      [m, mx, my] = [m + v, mx + v * x, my + v * y];
    }
  const dx = Math.round(14 - mx / Math.max(m, 1));
  const dy = Math.round(14 - my / Math.max(m, 1));
  for (let y = 0; y < 28; y++)
    for (let x = 0; x < 28; x++) {
      const sx = x - dx;
      const sy = y - dy;
      if (sx >= 0 && sy >= 0 && sx < 28 && sy < 28) out[y * 28 + x] = small[4 * (sy * 28 + sx)];
    }
  return out;
}
