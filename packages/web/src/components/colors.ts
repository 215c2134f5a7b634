// Darker than the palette's green and red: white or coloured text on them stays above 4.5:1 (WCAG AA).
export const PROMOTE = '#1e6b30';
export const DANGER = '#b02525';
