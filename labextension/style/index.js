import "./plugin.css";
