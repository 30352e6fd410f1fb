// The few Plotly functions the feature store browser calls (plotly.js-dist-min ships no types).
declare module 'plotly.js-dist-min' {
  export type PlotData = Record<string, unknown>;
  export type PlotLayout = Record<string, unknown>;
  export type PlotConfig = Record<string, unknown>;
  export function react(
    root: HTMLElement,
    data: PlotData[],
    layout?: PlotLayout,
    config?: PlotConfig,
  ): Promise<HTMLElement>;
  export function purge(root: HTMLElement): void;
}
