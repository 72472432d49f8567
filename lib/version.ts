/** The program version, reported by `version`, the hello handshake and `status`. */
export const VERSION = "0.1.0";
