// The labextension builder loads .svg imported from JavaScript as the file's text.
declare module '*.svg' {
  const svgText: string;
  export default svgText;
}
