// The count histogram (uPlot bars, vendored): one bar per date_histogram
// bucket; dragging across it zooms into that range.

import { html, useEffect, useRef } from './vendor/preact-htm.js';
import { t, formatNumber } from './i18n.js';

export function Histogram({ buckets, span, step, onZoom }) {
  const box = useRef(null);
  const sum = buckets.reduce((n, b) => n + b.doc_count, 0);
  useEffect(() => {
    if (!box.current || !window.uPlot) return undefined;
    const xs = buckets.map((b) => b.key / 1000);
    const ys = buckets.map((b) => b.doc_count);
    const style = getComputedStyle(document.documentElement);
    const bar = style.getPropertyValue('--bar').trim() || '#2f6fde';
    const ink = style.getPropertyValue('--muted').trim() || '#888';
    const width = Math.max(box.current.clientWidth, 300);
    const plot = new window.uPlot({
      width,
      height: 140,
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      scales: { x: { time: true, range: () => [span[0] / 1000, Math.max(span[1] / 1000, span[0] / 1000 + step.ms / 1000)] } },
      axes: [
        { stroke: ink, grid: { show: false }, ticks: { stroke: ink } },
        { stroke: ink, size: 50, grid: { stroke: 'rgba(128,128,128,0.15)' }, ticks: { show: false } },
      ],
      series: [{}, {
        label: t('count'), fill: bar, stroke: bar, width: 0,
        paths: window.uPlot.paths.bars({ size: [0.9, 40], align: 1 }),
        points: { show: false },
      }],
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 3) return;
          const from = u.posToVal(u.select.left, 'x') * 1000;
          const to = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          if (to > from) onZoom(from, to);
        }],
      },
    }, [xs, ys], box.current);
    const resize = () => plot.setSize({ width: Math.max(box.current.clientWidth, 300), height: 140 });
    addEventListener('resize', resize);
    return () => { removeEventListener('resize', resize); plot.destroy(); };
  }, [buckets, span[0], span[1]]);
  return html`<figure class="histogram">
    <div ref=${box} data-testid="histogram" data-sum=${sum} data-bars=${buckets.length} data-interval=${step.name}></div>
    <figcaption class="muted">${t('chart.brush')} · ${step.name} · ${formatNumber(sum)}</figcaption>
  </figure>`;
}
